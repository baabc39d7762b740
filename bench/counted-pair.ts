import { userSubtree } from '../protocol/topics.js'
import { CountProxy, type ByteCount } from './count-proxy.js'
import { Mailbox } from './mailbox.js'
import { PacketLabels, type WirePacket } from './packet-labels.js'
import { sleep } from './proc.js'
import { RawClient } from './raw-client.js'

/** Bytes of one exchange, per device and direction, counted at the proxies. */
export interface Exchange {
  sender: ByteCount
  recipient: ByteCount
  total: number
  /** Every packet (or WebSocket frame) in it, parsed from the counted bytes. */
  packets: WirePacket[]
}

export interface Device {
  readonly client: RawClient
  readonly mailbox: Mailbox
}

export interface CountedPair {
  readonly alice: Device
  readonly bob: Device
  /** Counts the bytes `work` causes on both links, until they are quiet again. */
  exchange (work: () => Promise<void>): Promise<Exchange>
  close (): Promise<void>
}

/** Quiet time after an exchange, so a packet still in the air is counted with it. */
const SETTLE_MS = 300

/**
 * alice and bob, each a device on lowband's real protocol behind its own counting proxy, with
 * persistent sessions as the SDK uses (delivered is derived from bob's PUBACK only then).
 */
export async function openCountedPair (brokerPort: number, tokens: ReadonlyMap<string, string>): Promise<CountedPair> {
  const proxies = { alice: await CountProxy.start(brokerPort), bob: await CountProxy.start(brokerPort) }
  const labels = new PacketLabels()
  labels.watch(proxies.alice, 'alice')
  labels.watch(proxies.bob, 'bob')
  const clients: RawClient[] = []
  const close = async (): Promise<void> => {
    for (const client of clients) client.destroy()
    await proxies.alice.close()
    await proxies.bob.close()
  }
  try {
    const device = async (user: 'alice' | 'bob'): Promise<Device> => {
      const client = await RawClient.connect({ port: proxies[user].port, clientId: `${user}/phone`, username: user, password: tokens.get(user)!, clean: false, keepalive: 600 })
      clients.push(client)
      const mailbox = new Mailbox(client)
      await client.subscribe(userSubtree(user), 1)
      return { client, mailbox }
    }
    const alice = await device('alice')
    const bob = await device('bob')
    await sleep(SETTLE_MS)
    return {
      alice,
      bob,
      close,
      async exchange (work) {
        const before = { sender: proxies.alice.snapshot(), recipient: proxies.bob.snapshot() }
        labels.take()
        await work()
        await sleep(SETTLE_MS)
        const sender = delta(before.sender, proxies.alice.snapshot())
        const recipient = delta(before.recipient, proxies.bob.snapshot())
        return { sender, recipient, total: sender.up + sender.down + recipient.up + recipient.down, packets: labels.take() }
      }
    }
  } catch (error) {
    await close()
    throw error
  }
}

function delta (before: ByteCount, after: ByteCount): ByteCount {
  return { up: after.up - before.up, down: after.down - before.down }
}
