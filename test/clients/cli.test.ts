import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { createServer, type AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ChatMessage } from '../../clients/sdk/index.js'
import { JWT_SECRET, TestBroker } from './helpers/broker.js'
import { runCli } from './helpers/cli.js'
import { collect, next } from './helpers/events.js'

describe('lowband send / recv / chat', () => {
  let broker: TestBroker
  let env: Record<string, string>
  beforeAll(async () => {
    broker = await TestBroker.start()
    env = { LOWBAND_URL: broker.url, LOWBAND_DATA_DIR: broker.dataDir, LOWBAND_JWT_SECRET: JWT_SECRET }
    // Users exist once they have connected.
    for (const user of ['alice', 'bob', 'carol']) await (await broker.connected(user, 'setup')).close()
  })
  afterAll(async () => { await broker.stop() })

  const cli = (...args: string[]) => runCli(args, env)

  it('send prints the stored message id and exits 0; the recipient gets that message', async () => {
    const bob = await broker.connected('bob', 'phone')
    const received = next<ChatMessage>((h) => bob.onMessage(h))
    const { code, stdout, stderr } = await cli('send', '--user', 'alice', '--to', 'bob', 'hello', 'from', 'the', 'shell').exited
    expect(stderr).toBe('')
    expect(code).toBe(0)
    const message = await received
    expect(stdout).toBe(`${message.id}\n`)
    expect(message).toMatchObject({ from: 'alice', text: 'hello from the shell' })

    const json = await cli('send', '--user', 'alice', '--to', 'bob', '--json', 'again').exited
    expect(json.code).toBe(0)
    expect(JSON.parse(json.stdout)).toEqual({ id: expect.any(String), seq: expect.any(Number), cseq: expect.any(Number), ts: expect.any(Number) })
  })

  it('recv prints JSON lines and keeps its cursor: a second run prints only what is new', async () => {
    const state = join(await mkdtemp(join(tmpdir(), 'lowband-recv-')), 'carol.json')
    try {
      const alice = await broker.connected('alice', 'laptop')
      for (const text of ['one', 'two', 'three']) await alice.send('carol', text)

      const first = await cli('recv', '--user', 'carol', '--state', state, '--count', '2').exited
      expect(first.code).toBe(0)
      const lines = first.stdout.trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>)
      expect(lines.map((l) => l.text)).toEqual(['one', 'two'])
      expect(lines[0]).toMatchObject({ id: expect.any(String), from: 'alice', to: 'carol', seq: expect.any(Number), ts: expect.any(Number), own: false })
      expect(JSON.parse(await readFile(state, 'utf8'))).toMatchObject({ cursor: lines[1]!.seq, keys: expect.any(String) })

      await alice.send('carol', 'four')
      const second = await cli('recv', '--user', 'carol', '--state', state, '--timeout', '0').exited
      expect(second.code).toBe(0)
      expect(second.stdout.trim().split('\n').map((line) => (JSON.parse(line) as { text: string }).text)).toEqual(['three', 'four'])

      const third = await cli('recv', '--user', 'carol', '--state', state, '--timeout', '0').exited
      expect(third).toEqual({ code: 0, stdout: '', stderr: '' })
    } finally {
      await rm(join(state, '..'), { recursive: true, force: true })
    }
  })

  it('recv without --count or --timeout prints live messages until Ctrl-C', async () => {
    const state = join(await mkdtemp(join(tmpdir(), 'lowband-recv-')), 'bob.json')
    try {
      const alice = await broker.connected('alice', 'desk')
      const recv = cli('recv', '--user', 'bob', '--device', 'watch', '--state', state)
      const sent = await alice.send('bob', 'live one')
      await recv.printed(sent.id)
      recv.interrupt()
      const { code, stdout } = await recv.exited
      expect(code).toBe(0)
      expect(stdout).toContain('"text":"live one"')
    } finally {
      await rm(join(state, '..'), { recursive: true, force: true })
    }
  })

  it('reports a coded error on stderr as "lowband: NAME (code): detail" and exits 1', async () => {
    const { code, stdout, stderr } = await cli('send', '--user', 'alice', '--to', 'ghost', 'anyone?').exited
    expect({ code, stdout, stderr }).toEqual({ code: 1, stdout: '', stderr: 'lowband: UNKNOWN_RECIPIENT (4): no such user: ghost\n' })
  })

  it.each([
    [['send', '--user', 'alice', 'no recipient'], 'lowband: --to or --group is required\n'],
    [['send', '--user', 'alice', '--to', 'bob', '--group', 'g1', 'both'], 'lowband: give --to or --group, not both\n'],
    [['send', '--user', 'alice', '--to', 'bob', '  '], 'lowband: nothing to send: give the text as arguments\n'],
    [['send', '--to', 'bob', 'who am i'], 'lowband: --user is required (or LOWBAND_USER)\n'],
    [['send', '--user', 'alice', '--to', 'bob', '--url', 'http://x', 'hi'], 'lowband: invalid --url "http://x": use mqtt://, mqtts://, ws:// or wss://\n'],
    [['recv', '--user', 'bob', '--count', '0'], 'lowband: invalid --count "0": a whole number of at least 1\n'],
    [['chat', '--user', 'alice'], 'lowband: --to or --group is required\n']
  ])('bad input %j exits 2 with one line that points at the command\'s help', async (args, line) => {
    const { code, stderr } = await cli(...args).exited
    expect({ code, stderr }).toEqual({ code: 2, stderr: line.replace(/\n$/, ` (see lowband ${args[0]!} --help)\n`) })
  })

  it('an unknown option is a usage error too (exit 2), in one line', async () => {
    const { code, stderr } = await cli('send', '--user', 'alice', '--to', 'bob', '--bogus', 'x').exited
    expect({ code, stderr }).toEqual({ code: 2, stderr: "lowband: unknown option '--bogus' (see lowband send --help)\n" })
  })

  it('says so in one line when the broker cannot be reached (exit 1)', async () => {
    const closed = await new Promise<number>((resolve) => {
      const server = createServer().listen(0, '127.0.0.1', () => {
        const port = (server.address() as AddressInfo).port
        server.close(() => resolve(port))
      })
    })
    const { code, stderr } = await runCli(['send', '--user', 'alice', '--to', 'bob', 'hi'], { ...env, LOWBAND_URL: `mqtt://127.0.0.1:${closed}` }).exited
    expect({ code, stderr }).toEqual({ code: 1, stderr: `lowband: connect ECONNREFUSED 127.0.0.1:${closed}\n` })
  })

  it('without --token or a secret, says where the development secret is missing (exit 2)', async () => {
    const empty = await mkdtemp(join(tmpdir(), 'lowband-empty-'))
    try {
      const { code, stderr } = await runCli(['send', '--user', 'alice', '--to', 'bob', 'hi'], { LOWBAND_URL: broker.url, LOWBAND_DATA_DIR: empty }).exited
      expect(code).toBe(2)
      expect(stderr).toBe(`lowband: no development secret in ${empty} (start the broker there once, or give --jwt-secret) (see lowband send --help)\n`)
    } finally {
      await rm(empty, { recursive: true, force: true })
    }
  })

  it('accepts a token instead of minting one', async () => {
    const token = await broker.token('alice')
    const { code, stdout } = await runCli(['send', '--user', 'alice', '--device', 'scripted', '--to', 'bob', 'with a token'], { LOWBAND_URL: broker.url, LOWBAND_TOKEN: token }).exited
    expect(code).toBe(0)
    expect(stdout).toMatch(/^\S+\n$/)
  })

  it('chat shows the conversation and sends each typed line', async () => {
    // alice's CLI device has keys (the tests above made them), so bob's chat encrypts to alice: this device needs keys too.
    const alice = await broker.connected('alice', 'other', { e2e: { plaintextFallback: true } })
    await alice.publishKeys()
    // The chat's device makes its keys on a first run: a device reads only what was sent after it had keys.
    expect((await cli('recv', '--user', 'bob', '--device', 'terminal', '--timeout', '0').exited).code).toBe(0)
    await alice.send('bob', 'earlier line')
    const chat = cli('chat', '--user', 'bob', '--device', 'terminal', '--to', 'alice', '--history', '1')
    await chat.printed('alice: earlier line')
    await chat.printed('-- chatting with alice')
    await alice.send('bob', 'are you there?')
    await chat.printed('alice: are you there?')

    const aliceGets = collect<ChatMessage>((h) => alice.onMessage(h), 1)
    chat.stdin.write('yes, typing here\n')
    const [typed] = await aliceGets.done
    expect(typed).toMatchObject({ from: 'bob', text: 'yes, typing here' })
    chat.stdin.end()
    const { code, stdout } = await chat.exited
    expect(code).toBe(0)
    // Only the last --history message of the replay is shown.
    expect(stdout.match(/alice: /g)).toHaveLength(2)
  })
})
