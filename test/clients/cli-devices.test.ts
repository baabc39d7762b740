import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { JWT_SECRET, TestBroker } from './helpers/broker.js'
import { runCli } from './helpers/cli.js'

describe('the CLI\'s own device ids', () => {
  let broker: TestBroker
  let env: Record<string, string>
  beforeAll(async () => {
    broker = await TestBroker.start()
    env = { LOWBAND_URL: broker.url, LOWBAND_DATA_DIR: broker.dataDir, LOWBAND_JWT_SECRET: JWT_SECRET }
    for (const user of ['alice', 'bob']) await (await broker.connected(user, 'setup')).close()
  })
  afterAll(async () => { await broker.stop() })

  const cli = (...args: string[]) => runCli(args, env)
  const kept = (user: string, role: string): Promise<string> => readFile(join(broker.dataDir, 'clients', `${user}.${role}-device`), 'utf8').then((text) => text.trim())

  it('never takes an open chat over: send, recv and group run as devices of their own, kept in the state dir', async () => {
    const chat = cli('chat', '--user', 'alice', '--to', 'bob')
    await chat.printed('-- chatting with bob')
    for (const text of ['one-shot 1', 'one-shot 2', 'one-shot 3']) expect((await cli('send', '--user', 'alice', '--to', 'bob', text).exited).code).toBe(0)
    expect((await cli('recv', '--user', 'alice', '--timeout', '0').exited).code).toBe(0)
    expect((await cli('group', 'list', '--user', 'alice').exited).code).toBe(0)
    // The chat shows my messages from my other devices: by the last one, a takeover would have shown.
    await chat.printed('me: one-shot 3')
    chat.stdin.end()
    const { code, stdout } = await chat.exited
    expect(code).toBe(0)
    expect(stdout).not.toMatch(/-- disconnected|-- reconnecting/)

    const ids = { chat: await kept('alice', 'chat'), send: await kept('alice', 'send'), recv: await kept('alice', 'recv') }
    expect(new Set(Object.values(ids)).size).toBe(3)
    for (const [role, id] of Object.entries(ids)) expect(id).toMatch(new RegExp(`^cli-${role}-[0-9a-f]{8}$`))
    // recv's cursor file belongs to its device.
    await expect(readFile(join(broker.dataDir, 'clients', `alice-${ids.recv}.json`), 'utf8')).resolves.toContain('cursor')
  })

  it('keeps no device id when --device names the device (only that device\'s own state file)', async () => {
    const home = await mkdtemp(join(tmpdir(), 'lowband-home-'))
    try {
      const token = await broker.token('bob')
      expect((await runCli(['send', '--user', 'bob', '--device', 'my-script', '--to', 'alice', 'hi'], { LOWBAND_URL: broker.url, LOWBAND_TOKEN: token }, home).exited).code).toBe(0)
      // The device's state file (its end-to-end keys) is kept; no device id is made or recorded.
      expect(await readdir(join(home, '.lowband', 'state'))).toEqual(['bob-my-script.json'])
    } finally {
      await rm(home, { recursive: true, force: true })
    }
  })
})
