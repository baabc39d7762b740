import { mkdtemp, rm } from 'node:fs/promises'
import { createServer, type AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { MqttClient } from 'mqtt'
import { InboxMessage, Receipt, ResumeRequest } from '../../protocol/envelopes.js'
import { HistoryItem, HistoryPage, OP } from '../../protocol/requests.js'
import { connectMqtt } from '../helpers/broker.js'
import { request, sendRaw } from '../helpers/chat.js'
import { Inbox } from '../helpers/messages.js'
import { runCli, spawnBroker } from '../helpers/process.js'

describe('the broker process', () => {
  let dataDir: string
  /** Minted once per data directory and user: each mint is a process. */
  const tokens = new Map<string, string>()
  beforeEach(async () => { dataDir = await mkdtemp(join(tmpdir(), 'lowband-proc-')) })
  afterEach(() => rm(dataDir, { recursive: true, force: true }))

  const device = async (port: number, userId: string, deviceId: string, clean = true) => {
    // Keyed by the data directory too: a timed-out test still running must not hand its token on.
    const key = `${dataDir}:${userId}`
    if (!tokens.has(key)) tokens.set(key, (await runCli(['token', userId, '--data-dir', dataDir])).stdout.trim())
    return connectMqtt(`mqtt://127.0.0.1:${port}`, { clientId: `${userId}/${deviceId}`, username: userId, password: tokens.get(key)!, clean })
  }

  it('creates a development secret, says so, and mints tokens that it accepts', async () => {
    const broker = await spawnBroker(['--data-dir', dataDir])
    expect(broker.output()).toContain('created a development secret')
    const client = await device(broker.ports.tcp, 'alice', 'phone')
    await client.endAsync()
    broker.child.kill('SIGTERM')
    expect(await broker.exited).toBe(0)
  })

  it('loses nothing acknowledged when killed with SIGKILL between send and receive', async () => {
    const first = await spawnBroker(['--data-dir', dataDir])
    const bob = await device(first.ports.tcp, 'bob', 'phone')
    await bob.endAsync()
    const alice = await device(first.ports.tcp, 'alice', 'phone')
    const sent = 40
    for (let i = 1; i <= sent; i++) await sendRaw(alice, 'bob', `durable ${i}`)
    first.child.kill('SIGKILL')
    await first.exited
    alice.end(true)

    const second = await spawnBroker(['--data-dir', dataDir])
    const back = await device(second.ports.tcp, 'bob', 'phone')
    await back.subscribeAsync('u/bob/#', { qos: 1 })
    const inbox = new Inbox(back)
    await back.publishAsync('c/r', Buffer.from(ResumeRequest.encode({ cursor: 0 })), { qos: 1 })
    await inbox.wait('/y')
    expect(inbox.on('inbox').map((r) => InboxMessage.decode(r.payload).body)).toEqual(Array.from({ length: sent }, (_, i) => `durable ${i + 1}`))
    await back.endAsync()
    second.child.kill('SIGTERM')
    expect(await second.exited).toBe(0)
  })

  it('never claims a delivery a crash lost before its window was written, recovers it from the recipient\'s cursor, and sends held receipts on SIGTERM', async () => {
    const args = ['--data-dir', dataDir, '--receipt-window', '10000']
    const delivered = (inbox: Inbox): number[] => inbox.on('/r').map((r) => Receipt.decode(r.payload)).filter((r) => r.status === 1).map((r) => r.cseq)
    const statuses = async (client: MqttClient): Promise<number[]> => {
      const response = await request(client, 'alice', OP.history, new Map<number, unknown>([[1, 'bob']]))
      return HistoryPage.fromCbor(response.result).items.map((item) => HistoryItem.fromCbor(item).status)
    }
    const subscribed = async (port: number, userId: string, clean: boolean) => {
      const client = await device(port, userId, 'phone', clean)
      await client.subscribeAsync(`u/${userId}/#`, { qos: 1 })
      return { client, inbox: new Inbox(client) }
    }

    const first = await spawnBroker(args)
    const bob = await subscribed(first.ports.tcp, 'bob', false)
    const alice = await subscribed(first.ports.tcp, 'alice', true)
    await sendRaw(alice.client, 'bob', 'one')
    await alice.inbox.until(() => delivered(alice.inbox).includes(1)) // a quiet conversation: at once
    await sendRaw(alice.client, 'bob', 'two')
    await bob.inbox.wait('inbox', 2)
    // History answers from memory: bob's PUBACK of "two" is recorded, its receipt held in the window.
    for (let tries = 0; (await statuses(alice.client)).join() !== '1,1'; tries++) expect(tries).toBeLessThan(100)
    first.child.kill('SIGKILL')
    await first.exited
    alice.client.end(true)
    bob.client.end(true)

    const second = await spawnBroker(args)
    const aliceAgain = await subscribed(second.ports.tcp, 'alice', true)
    expect(await statuses(aliceAgain.client)).toEqual([1, 0])
    const bobAgain = await subscribed(second.ports.tcp, 'bob', false)
    const cursor = InboxMessage.decode(bob.inbox.on('inbox')[1]!.payload).seq
    await bobAgain.client.publishAsync('c/r', Buffer.from(ResumeRequest.encode({ cursor })), { qos: 1 })
    await aliceAgain.inbox.until(() => delivered(aliceAgain.inbox).includes(2))
    expect(await statuses(aliceAgain.client)).toEqual([1, 1])

    await sendRaw(aliceAgain.client, 'bob', 'three')
    await bobAgain.inbox.wait('inbox')
    for (let tries = 0; (await statuses(aliceAgain.client)).join() !== '1,1,1'; tries++) expect(tries).toBeLessThan(100)
    expect(delivered(aliceAgain.inbox)).toEqual([2])
    second.child.kill('SIGTERM')
    await aliceAgain.inbox.until(() => delivered(aliceAgain.inbox).includes(3))
    expect(await second.exited).toBe(0)
  }, 60_000)

  it('stops on SIGTERM with exit code 0 after closing its clients', async () => {
    const broker = await spawnBroker(['--data-dir', dataDir])
    const client = await device(broker.ports.tcp, 'carol', 'phone')
    const closed = new Promise<void>((resolve) => client.once('close', () => resolve()))
    broker.child.kill('SIGTERM')
    expect(await broker.exited).toBe(0)
    await closed
    expect(broker.output()).toContain('lowband stopped')
  })

  it('names the option in a one-line error and exits 2 for a bad value', async () => {
    for (const [args, env, option] of [
      [['--port', 'abc'], {}, '--port'],
      [['--topic-policy', 'maybe'], {}, '--topic-policy'],
      [['--max-payload', '10'], {}, '--max-payload'],
      [['--tls-cert', '/nonexistent.pem'], {}, '--tls-key'],
      [[], { LOWBAND_HTTP_PORT: '70000' }, 'LOWBAND_HTTP_PORT'],
      [['--jwt-secret', 'short'], {}, '--jwt-secret'],
      [['--receipt-window', '20000'], {}, '--receipt-window']
    ] as Array<[string[], NodeJS.ProcessEnv, string]>) {
      const { code, stderr } = await runCli(['start', '--data-dir', dataDir, ...args], env)
      expect(code, args.join(' ')).toBe(2)
      expect(stderr.trim().split('\n'), args.join(' ')).toHaveLength(1)
      expect(stderr, args.join(' ')).toContain(option)
    }
  })

  it('names the option in a one-line error and exits 2 for a busy port', async () => {
    const blocker = createServer()
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve))
    const busy = String((blocker.address() as AddressInfo).port)
    try {
      for (const [flag, label] of [['--port', '--port'], ['--ws-port', '--ws-port'], ['--http-port', '--http-port']]) {
        const { code, stderr } = await runCli(['start', '--host', '127.0.0.1', '--port', '0', '--ws-port', '0', '--http-port', '0', '--data-dir', dataDir, flag!, busy])
        expect(code).toBe(2)
        expect(stderr.trim().split('\n')).toHaveLength(1)
        expect(stderr).toContain(`port ${busy}`)
        expect(stderr).toContain(label)
      }
    } finally {
      blocker.close()
    }
  })

  it('refuses to mint a token without a secret, with a one-line error', async () => {
    const { code, stderr } = await runCli(['token', 'alice', '--data-dir', dataDir])
    expect(code).toBe(2)
    expect(stderr).toContain('no development secret')
  })
})
