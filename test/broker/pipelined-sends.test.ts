import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DirectSend, InboxMessage, SendRequest } from '../../protocol/envelopes.js'
import type { MessageStore } from '../../storage/contracts.js'
import { RetriableError } from '../../storage/retriable.js'
import { startTestBroker, type TestBroker } from '../helpers/broker.js'
import { Inbox, pubacks } from '../helpers/messages.js'

const SENDS = 5

/**
 * Holds the first append's answer (its write still goes to disk) until `release()`, and counts the
 * appends the broker starts meanwhile. The store's `placed` is passed through untouched.
 */
function holdFirstAppend (messages: MessageStore): { started: () => number, release: () => void } {
  const appendDirect = messages.appendDirect.bind(messages)
  let started = 0
  let release!: () => void
  const held = new Promise<void>((resolve) => { release = resolve })
  messages.appendDirect = async (draft, placed) => {
    const first = started++ === 0
    const result = await appendDirect(draft, placed)
    if (first) await held
    return result
  }
  return { started: () => started, release }
}

/** Resolves once `done()` holds, or after `ms`, whichever comes first. */
async function until (done: () => boolean, ms: number): Promise<void> {
  const deadline = Date.now() + ms
  while (!done() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10))
}

describe('a device\'s pipelined sends', () => {
  let broker: TestBroker
  beforeAll(async () => { broker = await startTestBroker() })
  afterAll(() => broker.close())

  it('are stored without each waiting for the durable write before it, and keep their order', async () => {
    const bob = new Inbox(await broker.device('bob', 'phone'))
    const alice = await broker.device('alice', 'phone')
    const acks = pubacks(alice)
    const hold = holdFirstAppend(broker.storage.messages)

    const ids: number[] = []
    for (let i = 0; i < SENDS; i++) {
      alice.publish('c/s', Buffer.from(SendRequest.encode({ clientMsgId: `p-${i}`, to: 'bob', body: `m${i}` })), { qos: 1 })
      ids.push(alice.getLastMessageId())
    }
    // While the first send's write is unanswered, the broker hands the store every later one: they
    // share group commits. Before, each waited for the one before it to be durable (a bounded wait
    // here, so the old behaviour fails the test instead of hanging it).
    await until(() => hold.started() === SENDS, 3000)
    const startedWhileHeld = hold.started()
    hold.release()
    expect(startedWhileHeld).toBe(SENDS)

    // Nothing acknowledged or delivered out of order: PUBACKs in the order of the PUBLISHes
    // [MQTT-4.6.0-6 for the deliveries], cseqs in sending order.
    const delivered = (await bob.wait('inbox', SENDS)).map((r) => InboxMessage.decode(r.payload))
    expect(delivered.map((m) => m.body)).toEqual(Array.from({ length: SENDS }, (_, i) => `m${i}`))
    expect(delivered.map((m) => m.cseq)).toEqual(Array.from({ length: SENDS }, (_, i) => i + 1))
    await until(() => acks.length === SENDS, 3000)
    expect(acks).toEqual(ids)
  })

  it('stop at one that fails before it is stored: nothing after it is stored ahead of its resend', async () => {
    await broker.device('dora', 'phone')
    const carl = await broker.device('carl', 'phone')
    const messages = broker.storage.messages
    const appendDirect = messages.appendDirect.bind(messages)
    let calls = 0
    messages.appendDirect = async (draft, placed) => {
      if (calls++ === 0) throw new RetriableError('the store is reopening')
      return appendDirect(draft, placed)
    }
    try {
      const closed = new Promise<void>((resolve) => carl.once('close', () => resolve()))
      for (let i = 0; i < SENDS; i++) carl.publish('s/dora', Buffer.from(DirectSend.encode({ clientMsgId: `f-${i}`, body: `m${i}` })), { qos: 1 })
      await closed
      // The connection closed without a PUBACK for the first; none of the later ones reached the store.
      expect(await broker.storage.messages.inboxHead('dora')).toBe(0)
    } finally {
      messages.appendDirect = appendDirect
    }
  })
})
