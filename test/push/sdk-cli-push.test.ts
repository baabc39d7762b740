import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { LowbandError } from '../../clients/sdk/index.js'
import { JWT_SECRET, TestBroker } from '../clients/helpers/broker.js'
import { runCli } from '../clients/helpers/cli.js'

describe('push tokens from the SDK and `lowband push`', () => {
  let broker: TestBroker
  let env: Record<string, string>
  beforeAll(async () => {
    broker = await TestBroker.start()
    env = { LOWBAND_URL: broker.url, LOWBAND_DATA_DIR: broker.dataDir, LOWBAND_JWT_SECRET: JWT_SECRET }
  })
  afterAll(async () => { await broker.stop() })

  it('registers, lists and unregisters this device\'s token with the SDK', async () => {
    const phone = await broker.connected('alice', 'phone')
    await phone.registerPush('fcm-token-phone', 'ios')
    const laptop = await broker.connected('alice', 'laptop')
    await laptop.registerPush('fcm-token-web', 'web')
    await phone.registerPush('fcm-token-phone-2')
    expect(await laptop.pushRegistrations()).toEqual([
      { device: 'laptop', platform: 'web', token: 'fcm-token-web' },
      { device: 'phone', platform: 'android', token: 'fcm-token-phone-2' }
    ])
    await laptop.unregisterPush()
    expect(await phone.pushRegistrations()).toEqual([{ device: 'phone', platform: 'android', token: 'fcm-token-phone-2' }])
    await expect(phone.registerPush('two words')).rejects.toMatchObject({ errorName: 'PUSH_TOKEN_INVALID', code: 30 })
    await expect(phone.registerPush('tok', 'blackberry' as 'web')).rejects.toBeInstanceOf(LowbandError)
  })

  it('registers, lists and unregisters from the command line', async () => {
    const ok = async (...args: string[]): Promise<string> => {
      const { code, stdout, stderr } = await runCli(args, env).exited
      expect({ code, stderr }).toEqual({ code: 0, stderr: '' })
      return stdout
    }
    expect(await ok('push', 'register', 'cli-token-1', '--user', 'bob', '--device', 'phone', '--platform', 'ios')).toBe('')
    await ok('push', 'register', 'cli-token-2', '--user', 'bob', '--device', 'tablet')
    expect(await ok('push', 'list', '--user', 'bob')).toBe('phone ios cli-token-1\ntablet android cli-token-2\n')
    await ok('push', 'unregister', '--user', 'bob', '--device', 'phone')
    expect(JSON.parse(await ok('push', 'list', '--user', 'bob', '--json'))).toEqual({ device: 'tablet', platform: 'android', token: 'cli-token-2' })
    expect(await runCli(['push', 'register', 'x', '--user', 'bob', '--platform', 'pager'], env).exited).toMatchObject({ code: 2, stderr: 'lowband: invalid --platform "pager": android, ios or web (see lowband push register --help)\n' })
    expect(await runCli(['push', 'register', 'a b', '--user', 'bob'], env).exited).toMatchObject({ code: 1, stderr: expect.stringMatching(/^lowband: PUSH_TOKEN_INVALID \(30\)/) })
  })
})
