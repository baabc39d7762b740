import { decodeCbor } from '../protocol/cbor.js'
import { randomBytes } from 'node:crypto'
import { encodeEncryptedBody, PublishKeysArgs } from '../protocol/e2e.js'
import { DirectSend, InboxMessage, KIND } from '../protocol/envelopes.js'
import { OP, Request } from '../protocol/requests.js'
import { COMMAND, inboxTopic, responseTopic, sendTopic, userSubtree } from '../protocol/topics.js'
import type { RawClient } from './raw-client.js'
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
    // The real protocol: DirectSend on s/<recipient>, delivery on u/<recipient>; a device subscribes once.
    return { sender, recipient, sendTopic: sendTopic(recipient.userId), senderFilter: userSubtree(sender.userId), recipientFilter: userSubtree(recipient.userId) }
  }
  const topic = `bench/${index}`
  // The protocol floor sends the sender its stored-acks and receipts (bench/baseline-hooks.ts).
  return { sender, recipient, sendTopic: topic, ...(kind === 'aedes-protocol' ? { senderFilter: senderTopicOf(topic) } : {}), recipientFilter: topic }
}

/**
 * Every broker carries the same bytes: the payload is lowband's DirectSend for a 20-character text
 * whose body is the message's number, so a recipient can look up when it was sent. Plain brokers
 * just pass it through.
 */
export function chatPayload (n: number, to: string, encrypted = false): Buffer {
  const text = String(n).padStart(20, '0')
  if (!encrypted) return Buffer.from(DirectSend.encode({ clientMsgId: n, body: text }))
  const copy = new Uint8Array(STEADY_CIPHERTEXT)
  copy.set(Buffer.from(text))
  const body = encodeEncryptedBody({ copies: new Map([[to, new Map([['phone', copy]])]]) })
  return Buffer.from(DirectSend.encode({ clientMsgId: n, kind: KIND.encrypted, body }))
}

/**
 * A steady-state ciphertext of a 20-byte text: type, chain, N, the inner [kind, body] and the tag
 * (clients/sdk/crypto/pairwise-message.ts). Its first 20 bytes carry the message number here: the
 * broker never reads a ciphertext, so the load's bytes are opaque to it all the same.
 */
const STEADY_CIPHERTEXT = 42

/**
 * Publishes a device's keys (op 40) and waits for the answer: the broker checks an encrypted
 * message's copies against the devices with keys. Random bytes of the right sizes: the broker
 * verifies no signature.
 */
export async function publishBenchKeys (client: RawClient, userId: string): Promise<void> {
  const random = (n: number): Uint8Array => new Uint8Array(randomBytes(n))
  const answered = new Promise<void>((resolve) => {
    const previous = client.onMessage
    client.onMessage = (topic, payload) => {
      if (topic === responseTopic(userId)) {
        client.onMessage = previous
        resolve()
      } else previous(topic, payload)
    }
  })
  await client.subscribe(responseTopic(userId), 0)
  const args = PublishKeysArgs.toCbor({ identityKey: random(32), signedPreKeyId: 1, signedPreKey: random(32), signature: random(64) })
  await client.publishAsync(COMMAND.request, Buffer.from(Request.encode({ rid: 1, op: OP.publishKeys, args })), 1)
  await answered
}

/** The message number a recipient got, or undefined for anything that is not a chat delivery. */
export function deliveredNumber (kind: BrokerKind, topic: string, payload: Buffer, recipient: string): number | undefined {
  // cbor-x without validation: the generator must stay light; the broker already validated.
  if (kind === 'lowband' && topic !== inboxTopic(recipient)) return undefined
  const item = decodeCbor(payload)
  const body = kind === 'lowband' ? InboxMessage.rawField(item, 'body') : DirectSend.rawField(item, 'body')
  if (typeof body === 'string') return Number(body)
  // An encrypted delivery: the device's copy, number first (a plain broker passes the whole body on).
  if (body instanceof Uint8Array && kind === 'lowband') return Number(Buffer.from(body.subarray(0, 20)).toString())
  return undefined
}
