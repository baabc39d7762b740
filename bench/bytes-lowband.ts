import { randomBytes } from 'node:crypto'
import { CLIENT_MSG_ID_BYTES, InboxMessage, ReadWatermark, Receipt, RECEIPT, SendRequest, TypingSignal } from '../protocol/envelopes.js'
import { ackTopic, COMMAND, inboxTopic, receiptTopic, typingTopic, userSubtree } from '../protocol/topics.js'
import { startBroker } from './brokers.js'
import { CountProxy, type ByteCount } from './count-proxy.js'
import { Mailbox, type Arrival } from './mailbox.js'
import { PacketLabels, type WirePacket } from './packet-labels.js'
import { sleep } from './proc.js'
import { RawClient } from './raw-client.js'
import { mintTokens } from './tokens.js'

/** The text of every bytes figure: 20 bytes of UTF-8, the seed's greeting made 20 characters long. */
export const TEXT = 'Hello! How are you?!'

/** Bytes of one exchange, per device and direction, counted at the proxies. */
export interface Exchange {
  sender: ByteCount
  recipient: ByteCount
  total: number
  /** Every packet (or WebSocket frame) in it, parsed from the counted bytes. */
  packets: WirePacket[]
}

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
}

/** Quiet time after an exchange, so a packet still in the air is counted with it (and any receipt window has ended). */
const SETTLE_MS = 300
/** Client message id lengths weighed against their bytes (protocol/envelopes.ts, CLIENT_MSG_ID_BYTES). */
export const CLIENT_ID_LENGTHS = [8, 6, 4] as const
/** Messages in the burst: a chat's quick run of lines, delivered within one receipt window. */
export const BURST_MESSAGES = 10

/**
 * alice and bob, each a device on lowband's real protocol behind its own counting proxy, with
 * persistent sessions as the SDK uses (delivered is derived from bob's PUBACK only then).
 */
export async function measureLowbandBytes (): Promise<LowbandBytes> {
  const broker = await startBroker('lowband')
  const tokens = await mintTokens(['alice', 'bob'])
  const proxies = { alice: await CountProxy.start(broker.port), bob: await CountProxy.start(broker.port) }
  const labels = new PacketLabels()
  labels.watch(proxies.alice, 'alice')
  labels.watch(proxies.bob, 'bob')
  const clients: RawClient[] = []
  try {
    const device = async (user: 'alice' | 'bob'): Promise<Mailbox> => {
      const client = await RawClient.connect({ port: proxies[user].port, clientId: `${user}/phone`, username: user, password: tokens.get(user)!, clean: false, keepalive: 600 })
      clients.push(client)
      const mailbox = new Mailbox(client)
      await client.subscribe(userSubtree(user), 1)
      return mailbox
    }
    const alice = await device('alice')
    const bob = await device('bob')
    const [aliceClient, bobClient] = clients as [RawClient, RawClient]
    await sleep(SETTLE_MS)

    const exchange = async (work: () => Promise<void>): Promise<Exchange> => {
      const before = { sender: proxies.alice.snapshot(), recipient: proxies.bob.snapshot() }
      labels.take()
      await work()
      await sleep(SETTLE_MS)
      const sender = delta(before.sender, proxies.alice.snapshot())
      const recipient = delta(before.recipient, proxies.bob.snapshot())
      return { sender, recipient, total: sender.up + sender.down + recipient.up + recipient.down, packets: labels.take() }
    }

    let cseq = 0
    /** alice sends `count` texts at once; done when she has every stored-ack and the receipt of the last. */
    const send = (idBytes: number, count: number) => exchange(async () => {
      const since = { alice: alice.arrivals.length, bob: bob.arrivals.length }
      await Promise.all(Array.from({ length: count }, () =>
        aliceClient.publishAsync(COMMAND.send, Buffer.from(SendRequest.encode({ clientMsgId: randomBytes(idBytes), to: 'bob', body: TEXT })), 1)))
      const deliveries = await arrived(bob, since.bob, (a) => a.topic === inboxTopic('bob'), count)
      cseq = Math.max(...deliveries.map((d) => InboxMessage.decode(d.payload).cseq))
      await arrived(alice, since.alice, (a) => a.topic === ackTopic('alice'), count)
      // Delivered is a watermark: the receipt that reaches the last cseq covers them all.
      await arrived(alice, since.alice, (a) => a.topic === receiptTopic('alice') && isDeliveredUpTo(a.payload, cseq), 1)
    })
    const message = await send(CLIENT_MSG_ID_BYTES, 1)
    const read = await exchange(async () => {
      const receipt = alice.next((a) => a.topic === receiptTopic('alice') && Receipt.decode(a.payload).status === RECEIPT.read)
      await bobClient.publishAsync(COMMAND.read, Buffer.from(ReadWatermark.encode({ peer: 'alice', cseq })), 1)
      await receipt
    })
    const typing = await exchange(async () => {
      const notice = bob.next((a) => a.topic === typingTopic('bob'))
      await aliceClient.publishAsync(COMMAND.typing, Buffer.from(TypingSignal.encode({ to: 'bob', state: 1 })), 0)
      await notice
    })
    // After the read and typing, so their figures keep the sequences under 24 that PROTOCOL.md counts with.
    const byClientIdBytes = []
    for (const bytes of CLIENT_ID_LENGTHS) byClientIdBytes.push({ bytes, message: bytes === CLIENT_MSG_ID_BYTES ? message : await send(bytes, 1) })
    const burst = { messages: BURST_MESSAGES, exchange: await send(CLIENT_MSG_ID_BYTES, BURST_MESSAGES) }
    return { message, byClientIdBytes, burst, read, typing }
  } finally {
    for (const client of clients) client.destroy()
    await proxies.alice.close()
    await proxies.bob.close()
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

function delta (before: ByteCount, after: ByteCount): ByteCount {
  return { up: after.up - before.up, down: after.down - before.down }
}
