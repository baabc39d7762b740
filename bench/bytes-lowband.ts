import { randomBytes } from 'node:crypto'
import { CLIENT_MSG_ID_BYTES, encodeSend, InboxMessage, ReadWatermark, Receipt, RECEIPT, TypingSignal } from '../protocol/envelopes.js'
import { ackTopic, COMMAND, inboxTopic, receiptTopic, typingTopic } from '../protocol/topics.js'
import { startBroker } from './brokers.js'
import { measureEncryptedBytes, type EncryptedBytes } from './bytes-e2e.js'
import { openCountedPair, type Exchange } from './counted-pair.js'
import type { Arrival, Mailbox } from './mailbox.js'
import { mintTokens } from './tokens.js'

export type { Exchange } from './counted-pair.js'

/** The text of every bytes figure: 20 bytes of UTF-8, the seed's greeting made 20 characters long. */
export const TEXT = 'Hello! How are you?!'

export interface LowbandBytes {
  /** alice → bob, a 20-byte text with the SDK's client message id, until alice has the delivered receipt. */
  message: Exchange
  /** The same message with client message ids of other lengths (absent from older saved reports). */
  byClientIdBytes?: Array<{ bytes: number, message: Exchange }>
  /**
   * BURST_MESSAGES messages sent back to back, until alice has the delivered receipt of the last:
   * what coalesced receipts cost per message (absent from older saved reports).
   */
  burst?: { messages: number, exchange: Exchange }
  /** bob's read watermark for the conversation, until alice has the read receipt and acknowledged it. */
  read: Exchange
  /** alice typing to bob, until bob has the notice. */
  typing: Exchange
  /** The same text end-to-end encrypted (absent from older saved reports). */
  encrypted?: EncryptedBytes
}

/** Client message id lengths weighed against their bytes (protocol/envelopes.ts, CLIENT_MSG_ID_BYTES). */
export const CLIENT_ID_LENGTHS = [8, 7, 6, 4] as const
/** Messages in the burst: a chat's quick run of lines, delivered within one receipt window. */
export const BURST_MESSAGES = 10

/** alice and bob on lowband's real protocol, each behind a counting proxy (bench/counted-pair.ts). */
export async function measureLowbandBytes (): Promise<LowbandBytes> {
  const broker = await startBroker('lowband')
  const pair = await openCountedPair(broker.port, await mintTokens(['alice', 'bob']))
  try {
    const { alice, bob } = pair
    let cseq = 0
    /** alice sends `count` texts at once; done when she has every stored-ack and the receipt of the last. */
    const send = (idBytes: number, count: number): Promise<Exchange> => pair.exchange(async () => {
      const since = { alice: alice.mailbox.arrivals.length, bob: bob.mailbox.arrivals.length }
      await Promise.all(Array.from({ length: count }, () => {
        const { topic, payload } = encodeSend({ clientMsgId: randomBytes(idBytes), to: 'bob', body: TEXT })
        return alice.client.publishAsync(topic, Buffer.from(payload), 1)
      }))
      const deliveries = await arrived(bob.mailbox, since.bob, (a) => a.topic === inboxTopic('bob'), count)
      cseq = Math.max(...deliveries.map((d) => InboxMessage.decode(d.payload).cseq))
      await arrived(alice.mailbox, since.alice, (a) => a.topic === ackTopic('alice'), count)
      // Delivered is a watermark: the receipt that reaches the last cseq covers them all.
      await arrived(alice.mailbox, since.alice, (a) => a.topic === receiptTopic('alice') && isDeliveredUpTo(a.payload, cseq), 1)
    })
    const message = await send(CLIENT_MSG_ID_BYTES, 1)
    const read = await pair.exchange(async () => {
      const receipt = alice.mailbox.next((a) => a.topic === receiptTopic('alice') && Receipt.decode(a.payload).status === RECEIPT.read)
      await bob.client.publishAsync(COMMAND.read, Buffer.from(ReadWatermark.encode({ peer: 'alice', cseq })), 1)
      await receipt
    })
    const typing = await pair.exchange(async () => {
      const notice = bob.mailbox.next((a) => a.topic === typingTopic('bob'))
      await alice.client.publishAsync(COMMAND.typing, Buffer.from(TypingSignal.encode({ to: 'bob', state: 1 })), 0)
      await notice
    })
    // After the read and typing, so their figures keep the sequences under 24 that PROTOCOL.md counts with.
    const byClientIdBytes = []
    for (const bytes of CLIENT_ID_LENGTHS) byClientIdBytes.push({ bytes, message: bytes === CLIENT_MSG_ID_BYTES ? message : await send(bytes, 1) })
    const burst = { messages: BURST_MESSAGES, exchange: await send(CLIENT_MSG_ID_BYTES, BURST_MESSAGES) }
    const encrypted = await measureEncryptedBytes({ user: 'alice', ...alice }, { user: 'bob', ...bob }, TEXT, (work) => pair.exchange(work))
    return { message, byClientIdBytes, burst, read, typing, encrypted }
  } finally {
    await pair.close()
    await broker.stop()
  }
}

/** Resolves with the arrivals since index `since` that match, once there are `count` of them. */
async function arrived (mailbox: Mailbox, since: number, match: (arrival: Arrival) => boolean, count: number): Promise<Arrival[]> {
  for (;;) {
    const matching = mailbox.arrivals.slice(since).filter(match)
    if (matching.length >= count) return matching
    await mailbox.next(match)
  }
}

function isDeliveredUpTo (payload: Buffer, cseq: number): boolean {
  const receipt = Receipt.decode(payload)
  return receipt.status === RECEIPT.delivered && receipt.cseq >= cseq
}
