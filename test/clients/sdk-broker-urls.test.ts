import { Command } from 'commander'
import { describe, expect, it } from 'vitest'
import { addConnectionOptions, resolveConnection, type ConnectionFlags } from '../../clients/cli/connection-options.js'
import type { CliIo } from '../../clients/cli/io.js'
import { BrokerUrls } from '../../clients/sdk/broker-urls.js'
import { LowbandClient } from '../../clients/sdk/index.js'
import { fakeClient, open, statusAfter } from './helpers/fake-client.js'

describe('several broker URLs (a cluster)', () => {
  it('starts at a random one and takes the next on every attempt', () => {
    const urls = new BrokerUrls(['mqtt://a', 'mqtt://b', 'mqtt://c'], () => 0.5)
    expect([urls.next(), urls.next(), urls.next(), urls.next()]).toEqual(['mqtt://b', 'mqtt://c', 'mqtt://a', 'mqtt://b'])
  })

  it('reconnects to another node when the one it was on fails', async () => {
    const { client, clock, transports } = fakeClient({ url: undefined, urls: ['mqtt://node-a', 'mqtt://node-b'], random: () => 0 })
    const connected = client.connect()
    await open(await transports.waitFor(1))
    await connected
    expect(transports.made[0]!.options.url).toBe('mqtt://node-a')
    await statusAfter(client, 'reconnecting', () => transports.made[0]!.drop(new Error('node a killed')))
    clock.advance(clock.pending[0]!)
    await open(await transports.waitFor(2))
    expect(transports.made[1]!.options.url).toBe('mqtt://node-b')
    await client.close()
  })

  it('takes url or urls, not both and not neither', () => {
    const base = { userId: 'alice', deviceId: 'phone', token: 't' }
    expect(() => new LowbandClient({ ...base, url: 'mqtt://a', urls: ['mqtt://b'] })).toThrow('give url or urls')
    expect(() => new LowbandClient(base)).toThrow('give url or urls')
    expect(() => new LowbandClient({ ...base, urls: ['mqtt://a', 'http://b'] })).toThrow('http://b')
  })
})

describe('the CLI\'s --url for a cluster', () => {
  const io = (env: Record<string, string>) => ({ env, homeDir: '/nonexistent' }) as unknown as CliIo
  const flags = { user: 'alice', device: 'phone', token: 't' }

  it('takes the nodes comma-separated, from the flag (repeated or not) or LOWBAND_URL', async () => {
    const program = addConnectionOptions(new Command().exitOverride())
    program.parse(['--url', 'mqtt://a:1883,mqtt://b:1883', '--url', 'mqtt://c:1883'], { from: 'user' })
    const fromFlag = await resolveConnection({ ...flags, ...program.opts<ConnectionFlags>() }, io({}), 'chat')
    expect(fromFlag.urls).toEqual(['mqtt://a:1883', 'mqtt://b:1883', 'mqtt://c:1883'])
    const fromEnv = await resolveConnection(flags, io({ LOWBAND_URL: 'mqtt://a:1883, mqtt://b:1883' }), 'chat')
    expect(fromEnv.urls).toEqual(['mqtt://a:1883', 'mqtt://b:1883'])
    await expect(resolveConnection(flags, io({ LOWBAND_URL: 'mqtt://a:1883,http://b' }), 'chat')).rejects.toThrow('invalid --url "http://b"')
  })
})
