import type { MqttClient } from 'mqtt'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { InboxMessage } from '../../protocol/envelopes.js'
import { startTestBroker, type TestBroker } from '../helpers/broker.js'
import { sendRaw } from '../helpers/chat.js'
import { Inbox } from '../helpers/messages.js'
import { PrivatePostgres, privatePostgresMissing } from '../../bench/private-postgres.js'

const missing = privatePostgresMissing()

const closed = (client: MqttClient): Promise<void> => new Promise((resolve) => client.once('close', () => resolve()))

async function readyz (broker: TestBroker): Promise<{ status: number, text: string }> {
  const response = await fetch(`http://127.0.0.1:${broker.ports.http}/readyz`)
  return { status: response.status, text: await response.text() }
}

async function until (check: () => Promise<boolean>, ms: number): Promise<void> {
  const deadline = Date.now() + ms
  while (!await check()) {
    if (Date.now() > deadline) throw new Error(`not reached within ${ms} ms`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

describe.skipIf(missing !== undefined)(`PostgreSQL unreachable mid-traffic${missing === undefined ? '' : ` (skipped: ${missing})`}`, { timeout: 90_000 }, () => {
  let postgres: PrivatePostgres
  let broker: TestBroker
  beforeAll(async () => {
    postgres = await PrivatePostgres.create()
    broker = await startTestBroker({ postgres: postgres.url })
  }, 60_000)
  afterAll(async () => {
    await broker?.close()
    await postgres?.destroy()
  })

  it('acknowledges nothing it did not store, is not ready, keeps idle connections, reconnects by itself and loses nothing', async () => {
    const alice = await broker.device('alice', 'phone', { reconnectPeriod: 0 })
    const bob = await broker.device('bob', 'phone')
    const inbox = new Inbox(bob)
    await sendRaw(alice, 'bob', 'before', 'c-before')
    await inbox.wait('inbox', 1, 10_000)

    await postgres.stop()
    // Not stored, so not acknowledged: the connection is closed instead and the client resends.
    let acked = false
    const aliceClosed = closed(alice)
    void sendRaw(alice, 'bob', 'during', 'c-during').then(() => { acked = true }, () => undefined)
    await aliceClosed
    expect(acked).toBe(false)
    const notReady = await readyz(broker)
    expect(notReady.status).toBe(503)
    expect(notReady.text).toMatch(/PostgreSQL unreachable/)
    // A device that only listens needs no database: it stays connected.
    expect(bob.connected).toBe(true)
    // More attempts during the outage add no log lines: one per outage.
    for (const id of ['c-during-2', 'c-during-3']) {
      const retry = await broker.device('alice', 'phone', { reconnectPeriod: 0 }).catch(() => undefined)
      if (retry !== undefined) {
        const gone = closed(retry)
        void sendRaw(retry, 'bob', 'during', id).catch(() => undefined)
        await gone
      }
    }
    const outageLines = (): string[] => broker.logs.filter((line) => line.includes('"level":50') || line.includes('"level":40'))
    expect(outageLines().filter((line) => line.includes('store not ready'))).toHaveLength(1)
    expect(outageLines().filter((line) => line.includes('closing the connection') || line.includes('authentication failed'))).toEqual([])

    await postgres.start()
    await until(async () => (await readyz(broker)).status === 200, 30_000)
    // The resend, as any client does after a connection closed without PUBACK: stored once.
    const again = await broker.device('alice', 'phone', { reconnectPeriod: 0 })
    await sendRaw(again, 'bob', 'during', 'c-during')
    await sendRaw(again, 'bob', 'during', 'c-during')
    await inbox.wait('inbox', 2, 10_000)
    const bodies = inbox.on('inbox').map((r) => InboxMessage.decode(r.payload).body)
    expect(bodies).toEqual(['before', 'during'])
    expect(broker.logs.filter((line) => line.includes('store ready: acknowledging again'))).toHaveLength(1)
  })
})
