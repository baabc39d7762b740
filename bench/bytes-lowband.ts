import { randomBytes } from 'node:crypto'
import { InboxMessage, ReadWatermark, Receipt, RECEIPT, SendRequest, TypingSignal } from '../protocol/envelopes.js'
import { ackTopic, COMMAND, inboxTopic, receiptTopic, typingTopic } from '../protocol/topics.js'
import { startBroker } from './brokers.js'
import { openCountedPair, type Exchange } from './counted-pair.js'
import { mintTokens } from './tokens.js'

export type { Exchange } from './counted-pair.js'

/** The text of every bytes figure: 20 bytes of UTF-8, the seed's greeting made 20 characters long. */
export const TEXT = 'Hello! How are you?!'

export interface LowbandBytes {
  /** alice → bob, a 20-byte text, until alice has the delivered receipt and has acknowledged it. */
  message: Exchange
  /** bob's read watermark for the conversation, until alice has the read receipt and acknowledged it. */
  read: Exchange
  /** alice typing to bob, until bob has the notice. */
  typing: Exchange
}

/** alice and bob on lowband's real protocol, each behind a counting proxy (bench/counted-pair.ts). */
export async function measureLowbandBytes (): Promise<LowbandBytes> {
  const broker = await startBroker('lowband')
  const pair = await openCountedPair(broker.port, await mintTokens(['alice', 'bob']))
  try {
    const { alice, bob } = pair
    let cseq = 0
    const message = await pair.exchange(async () => {
      const stored = alice.mailbox.next((a) => a.topic === ackTopic('alice'))
      const delivered = bob.mailbox.next((a) => a.topic === inboxTopic('bob'))
      const receipt = alice.mailbox.next((a) => a.topic === receiptTopic('alice') && Receipt.decode(a.payload).status === RECEIPT.delivered)
      await alice.client.publishAsync(COMMAND.send, Buffer.from(SendRequest.encode({ clientMsgId: randomBytes(8), to: 'bob', body: TEXT })), 1)
      cseq = InboxMessage.decode((await delivered).payload).cseq
      await Promise.all([stored, receipt])
    })
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
    return { message, read, typing }
  } finally {
    await pair.close()
    await broker.stop()
  }
}
