import { randomBytes } from 'node:crypto'
import { InboxMessage, ReadWatermark, Receipt, RECEIPT, SendRequest, TypingSignal } from '../protocol/envelopes.js'
import { ackTopic, COMMAND, inboxTopic, receiptTopic, typingTopic, userSubtree } from '../protocol/topics.js'
import { startBroker } from './brokers.js'
import { measureEncryptedBytes, type EncryptedBytes } from './bytes-e2e.js'
import { CountProxy, type ByteCount } from './count-proxy.js'
import { Mailbox } from './mailbox.js'
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
  /** alice → bob, a 20-byte text, until alice has the delivered receipt and has acknowledged it. */
  message: Exchange
  /** bob's read watermark for the conversation, until alice has the read receipt and acknowledged it. */
  read: Exchange
  /** alice typing to bob, until bob has the notice. */
  typing: Exchange
  /** The same text end-to-end encrypted (absent from older saved reports). */
  encrypted?: EncryptedBytes
}

/** Quiet time after an exchange, so a packet still in the air is counted with it. */
const SETTLE_MS = 300

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
    const message = await exchange(async () => {
      const stored = alice.next((a) => a.topic === ackTopic('alice'))
      const delivered = bob.next((a) => a.topic === inboxTopic('bob'))
      const receipt = alice.next((a) => a.topic === receiptTopic('alice') && Receipt.decode(a.payload).status === RECEIPT.delivered)
      await aliceClient.publishAsync(COMMAND.send, Buffer.from(SendRequest.encode({ clientMsgId: randomBytes(8), to: 'bob', body: TEXT })), 1)
      cseq = InboxMessage.decode((await delivered).payload).cseq
      await Promise.all([stored, receipt])
    })
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
    const encrypted = await measureEncryptedBytes({ user: 'alice', client: aliceClient, mailbox: alice }, { user: 'bob', client: bobClient, mailbox: bob }, TEXT, exchange)
    return { message, read, typing, encrypted }
  } finally {
    for (const client of clients) client.destroy()
    await proxies.alice.close()
    await proxies.bob.close()
    await broker.stop()
  }
}

function delta (before: ByteCount, after: ByteCount): ByteCount {
  return { up: after.up - before.up, down: after.down - before.down }
}
