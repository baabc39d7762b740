import { execFileSync } from 'node:child_process'
import { appendFile, mkdtemp, rm, statfs, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { MqttClient } from 'mqtt'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { InboxMessage, ResumeRequest, SendRequest } from '../../protocol/envelopes.js'
import { mintDeviceToken, secretFromText } from '../../protocol/token.js'
import { connectMqtt, SECRET } from '../helpers/broker.js'
import { Inbox } from '../helpers/messages.js'
import { spawnBroker, type BrokerProcess } from '../helpers/process.js'

/** An 8 MiB tmpfs can be mounted only by root (and only where mounting is allowed at all). */
function tmpfsUnavailable (): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root to mount a small tmpfs'
  try {
    const probe = execFileSync('mktemp', ['-d']).toString().trim()
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', probe])
    execFileSync('umount', [probe])
    return undefined
  } catch (error) {
    return `cannot mount a tmpfs here: ${(error as Error).message.split('\n')[0]}`
  }
}

const unavailable = tmpfsUnavailable()
const BODY = 'x'.repeat(1000)
const token = (userId: string): Promise<string> => mintDeviceToken({ userId, ttl: '1h', secret: secretFromText(SECRET) })

/** alice's sends, each on whatever connection is up: true once PUBACKed, false when the connection closed first. */
class Sender {
  #client: MqttClient | undefined
  #next = 0

  constructor (readonly port: () => number) {}

  async send (body: string): Promise<boolean> {
    if (this.#client === undefined) {
      this.#client = await connectMqtt(`mqtt://127.0.0.1:${this.port()}`, { clientId: 'alice/phone', username: 'alice', password: await token('alice') })
      // A connection closed without the PUBACK may end in a reset: that is the point.
      this.#client.on('error', () => {})
    }
    const client = this.#client
    const closed = new Promise<false>((resolve) => client.once('close', () => resolve(false)))
    const acked = client.publishAsync('c/s', Buffer.from(SendRequest.encode({ clientMsgId: `c${++this.#next}`, to: 'bob', body })), { qos: 1 }).then(() => true, () => false)
    const result = await Promise.race([acked, closed])
    if (!result) {
      client.end(true)
      this.#client = undefined
    }
    return result
  }

  close (): void {
    this.#client?.end(true)
    this.#client = undefined
  }
}

describe.skipIf(unavailable !== undefined)(`disk full (${unavailable ?? 'an 8 MiB tmpfs'})`, () => {
  let dataDir: string
  let broker: BrokerProcess
  const start = async (): Promise<void> => { broker = await spawnBroker(['--data-dir', dataDir, '--jwt-secret', SECRET, '--rate-limit', '100000', '--rate-burst', '100000']) }
  const sender = new Sender(() => broker.ports.tcp)
  const acknowledged: string[] = []

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'lowband-full-'))
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=8m', 'tmpfs', dataDir])
    await start()
    // bob exists once he has connected.
    await (await connectMqtt(`mqtt://127.0.0.1:${broker.ports.tcp}`, { clientId: 'bob/phone', username: 'bob', password: await token('bob') })).endAsync()
  })
  afterAll(async () => {
    sender.close()
    broker.child.kill('SIGKILL')
    await broker.exited
    execFileSync('umount', [dataDir])
    await rm(dataDir, { recursive: true, force: true })
  })

  /** Fills the disk until a send is refused, keeps it full a moment, frees it, then sends 200 more: each must be PUBACKed. */
  async function fillFailFreeContinue (round: string): Promise<void> {
    const ballast = join(dataDir, 'ballast')
    const { bavail, bsize } = await statfs(dataDir)
    await writeFile(ballast, Buffer.alloc(Math.max(0, bavail * bsize - 192 * 1024)))
    let refused = 0
    for (let i = 0; refused === 0 && i < 2000; i++) {
      const body = `${round} fill ${i} ${BODY}`
      if (await sender.send(body)) acknowledged.push(body)
      else refused++
    }
    expect(refused).toBe(1)
    // Full to the last byte: a reopen cannot succeed until space is freed.
    for (;;) {
      try { await appendFile(ballast, Buffer.alloc(64 * 1024)) } catch { break }
    }
    if (await sender.send(`${round} while full`)) acknowledged.push(`${round} while full`)
    await rm(ballast)
    for (let i = 0; i < 200; i++) {
      const body = `${round} after ${i}`
      let tries = 0
      while (!await sender.send(body)) {
        expect(++tries).toBeLessThan(300)
        await new Promise((resolve) => setTimeout(resolve, 100))
      }
      acknowledged.push(body)
    }
    expect(broker.output()).toContain('suspect after a failed write')
  }

  async function expectAllAcknowledgedAfterRestart (signal: 'SIGKILL' | 'SIGTERM'): Promise<void> {
    sender.close()
    broker.child.kill(signal)
    expect(await broker.exited).toBe(signal === 'SIGTERM' ? 0 : null)
    await start()
    const bob = await connectMqtt(`mqtt://127.0.0.1:${broker.ports.tcp}`, { clientId: 'bob/phone', username: 'bob', password: await token('bob') })
    const inbox = new Inbox(bob)
    await bob.subscribeAsync('u/bob/#', { qos: 1 })
    await bob.publishAsync('c/r', Buffer.from(ResumeRequest.encode({ cursor: 0 })), { qos: 1 })
    await inbox.wait('/y', 1, 20_000)
    const stored = new Set(inbox.on('inbox').map((r) => InboxMessage.decode(r.payload).body as string))
    expect(acknowledged.filter((body) => !stored.has(body))).toEqual([])
    await bob.endAsync()
  }

  it('loses nothing acknowledged: fill, fail, free, continue, then restart after SIGKILL', async () => {
    await fillFailFreeContinue('first')
    await expectAllAcknowledgedAfterRestart('SIGKILL')
  }, 120_000)

  it('and again after SIGTERM', async () => {
    await fillFailFreeContinue('second')
    await expectAllAcknowledgedAfterRestart('SIGTERM')
  }, 120_000)
})
