import { decodeCbor } from '../protocol/cbor.js'
import { InboxMessage, SendRequest } from '../protocol/envelopes.js'
import { inboxTopic, userSubtree } from '../protocol/topics.js'
import { senderTopicOf } from './baseline-hooks.js'
import type { BrokerKind } from './brokers.js'

/** How one device signs in: lowband needs a user, device and token; plain brokers ignore all but the id. */
export interface Account {
  userId: string
  clientId: string
  username?: string
  password?: string
}

/** One sender → recipient conversation of the throughput load. */
export interface Pair {
  sender: Account
  recipient: Account
  /** Where the sender publishes and the recipient subscribes. */
  sendTopic: string
  senderFilter?: string
  recipientFilter: string
}

/** The 1:1 traffic each broker carries: lowband's real protocol, or a plain topic per pair. */
export function makePair (kind: BrokerKind, index: number, tokenOf: (userId: string) => string | undefined): Pair {
  const account = (userId: string): Account => {
    const password = tokenOf(userId)
    return { userId, clientId: `${userId}/phone`, ...(password === undefined ? {} : { username: userId, password }) }
  }
  const sender = account(`s${index}`)
  const recipient = account(`r${index}`)
  if (kind === 'lowband') {
    // The real protocol: SendRequest on c/s, delivery on u/<recipient>/m; a device subscribes once.
    return { sender, recipient, sendTopic: 'c/s', senderFilter: userSubtree(sender.userId), recipientFilter: userSubtree(recipient.userId) }
  }
  const topic = `bench/${index}`
  // The protocol floor sends the sender its stored-acks and receipts (bench/baseline-hooks.ts).
  return { sender, recipient, sendTopic: topic, ...(kind === 'aedes-protocol' ? { senderFilter: senderTopicOf(topic) } : {}), recipientFilter: topic }
}

/**
 * Every broker carries the same bytes: the payload is lowband's SendRequest for a 20-character text
 * whose body is the message's number, so a recipient can look up when it was sent. Plain brokers
 * just pass it through.
 */
export function chatPayload (n: number, to: string): Buffer {
  return Buffer.from(SendRequest.encode({ clientMsgId: n, to, body: String(n).padStart(20, '0') }))
}

/** The message number a recipient got, or undefined for anything that is not a chat delivery. */
export function deliveredNumber (kind: BrokerKind, topic: string, payload: Buffer, recipient: string): number | undefined {
  // cbor-x without validation: the generator must stay light; the broker already validated.
  if (kind === 'lowband' && topic !== inboxTopic(recipient)) return undefined
  const map = decodeCbor(payload)
  if (!(map instanceof Map)) return undefined
  const body: unknown = map.get(kind === 'lowband' ? InboxMessage.keys.body! : SendRequest.keys.body!)
  return typeof body === 'string' ? Number(body) : undefined
}
