import { readdir, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { JWT_SECRET, TestBroker } from '../clients/helpers/broker.js'
import { runCli } from '../clients/helpers/cli.js'

describe('lowband send / recv / chat with end-to-end encryption', { timeout: 60_000 }, () => {
  let broker: TestBroker
  let env: Record<string, string>
  beforeAll(async () => {
    broker = await TestBroker.start()
    env = { LOWBAND_URL: broker.url, LOWBAND_DATA_DIR: broker.dataDir, LOWBAND_JWT_SECRET: JWT_SECRET }
  })
  afterAll(async () => { await broker.stop() })

  const cli = (...args: string[]) => runCli(args, env)
  /** The state file of `user`'s device for `command` (each CLI command is a device of its own). */
  const stateFileOf = async (user: string, command: string): Promise<string> => {
    const dir = join(broker.dataDir, 'clients')
    const name = (await readdir(dir)).find((f) => f.startsWith(`${user}-cli-${command}-`) && f.endsWith('.json'))
    expect(name, `${user}'s ${command} state file`).toBeDefined()
    return join(dir, name!)
  }

  it('encrypt and decrypt transparently once both devices have keys, kept in owner-only state files', async () => {
    // bob's first run makes his device's keys and publishes them.
    expect((await cli('recv', '--user', 'bob', '--timeout', '0').exited).code).toBe(0)
    expect((await stat(await stateFileOf('bob', 'recv'))).mode & 0o777).toBe(0o600)

    const sent = await cli('send', '--user', 'alice', '--to', 'bob', 'cli-secret-4d2e over the wire').exited
    expect(sent).toMatchObject({ code: 0, stderr: '' })
    expect((await stat(await stateFileOf('alice', 'send'))).mode & 0o777).toBe(0o600)
    // Stored encrypted: the broker's copy names kind 3 and holds no text.
    const page = await broker.broker.storage.messages.history('bob', 'alice', 0, 10)
    expect(page.items.map((i) => [i.message.kind, Buffer.from(i.message.body as Uint8Array).includes('cli-secret-4d2e')])).toEqual([[3, false]])

    const got = await cli('recv', '--user', 'bob', '--timeout', '0').exited
    expect(got.code).toBe(0)
    expect(JSON.parse(got.stdout)).toMatchObject({ from: 'alice', text: 'cli-secret-4d2e over the wire', kind: 0, encrypted: true, id: sent.stdout.trim() })

    // The chat shows the safety number on /verify, the same on both sides.
    const verify = async (user: string, peer: string): Promise<string> => {
      const chat = cli('chat', '--user', user, '--to', peer, '--device', 'cli')
      chat.stdin.write('/verify\n')
      await chat.printed('security code with')
      chat.stdin.end()
      const { stdout } = await chat.exited
      return /security code with \w+: ((?:\d{5} ){11}\d{5})/.exec(stdout)![1]!
    }
    // Each chat is a device of its own with its own keys, and the number covers every device of
    // both users: a first round lets both chat devices publish theirs.
    await verify('alice', 'bob')
    await verify('bob', 'alice')
    const fromAlice = await verify('alice', 'bob')
    expect(fromAlice).toMatch(/^(\d{5} ){11}\d{5}$/)
    expect(await verify('bob', 'alice')).toBe(fromAlice)
  })
})
