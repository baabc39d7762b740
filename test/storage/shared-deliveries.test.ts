import { describe, expect, it } from 'vitest'
import type { MessageRef } from '../../storage/message-ref.js'
import { SharedDeliveries, type DeliveryFlush, type DeliveryRecords } from '../../storage/shared-deliveries.js'

const CONVERSATION = 'u:ann:bob'

/** Records in memory, as a store several brokers share would keep them, counting position reads. */
function records () {
  const stored = new Map<string, number>()
  const refs: MessageRef[] = []
  const counts = { storedAt: 0, writes: 0 }
  const store: DeliveryRecords = {
    messageAt: (conversation, cseq) => Promise.resolve(refs.find((r) => r.conversation === conversation && r.cseq === cseq)),
    storedAt: (_conversation, recipient) => {
      counts.storedAt++
      return Promise.resolve(stored.get(recipient) ?? 0)
    },
    latestInInbox: () => Promise.resolve([]),
    write: (flush: DeliveryFlush) => {
      counts.writes++
      for (const { recipient, at } of flush.positions) stored.set(recipient, Math.max(stored.get(recipient) ?? 0, at))
      return Promise.resolve([])
    }
  }
  const message = (cseq: number): MessageRef => {
    const ref: MessageRef = { conversation: CONVERSATION, cseq, from: 'ann', to: 'bob', group: false, kind: 0, recipients: [] }
    refs.push(ref)
    return ref
  }
  return { store, stored, counts, message }
}

describe('delivered positions in a store several brokers share', () => {
  it('reads a conversation\'s position from the store once, not once per message of a running chat', async () => {
    const { store, stored, counts, message } = records()
    const deliveries = new SharedDeliveries(store)
    for (let cseq = 1; cseq <= 5; cseq++) {
      expect(await deliveries.acknowledged('bob', message(cseq))).toBe(CONVERSATION)
      await deliveries.flush(CONVERSATION, Date.now())
    }
    expect(stored.get('bob')).toBe(5)
    expect(counts.writes).toBe(5)
    expect(counts.storedAt).toBe(1)
  })

  it('catches up from the store when another broker moved the position past what this one remembers', async () => {
    const { store, stored, message } = records()
    const deliveries = new SharedDeliveries(store)
    await deliveries.acknowledged('bob', message(1))
    await deliveries.flush(CONVERSATION, Date.now())
    // Messages 2 and 3 reached bob through another broker, which wrote his position.
    message(2)
    message(3)
    stored.set('bob', 3)
    expect(await deliveries.acknowledged('bob', message(4))).toBe(CONVERSATION)
    await deliveries.flush(CONVERSATION, Date.now())
    expect(stored.get('bob')).toBe(4)
  })
})
