import { randomBytes } from 'node:crypto'
import { currentSignedPreKey, newDeviceKeys, responderKeys, usePreKey, type DeviceKeys } from '../clients/sdk/crypto/device-keys.js'
import { decodeInner, encodeInner } from '../clients/sdk/crypto/inner-message.js'
import { confirmAnnounced, decryptFrom, encryptFor, startSession, type SessionRecord } from '../clients/sdk/crypto/session-cipher.js'
import { Bundle, encodeEncryptedBody, FetchBundlesArgs, FetchBundlesResult, PublishKeysArgs } from '../protocol/e2e.js'
import { CLIENT_MSG_ID_BYTES, encodeSend, InboxMessage, KIND, Receipt, RECEIPT } from '../protocol/envelopes.js'
import { OP, Request, Response } from '../protocol/requests.js'
import { ackTopic, COMMAND, inboxTopic, receiptTopic, responseTopic } from '../protocol/topics.js'
import type { Exchange } from './bytes-lowband.js'
import type { Mailbox } from './mailbox.js'
import type { RawClient } from './raw-client.js'

/** The encrypted 20-byte text of bytes-lowband, at the three moments a Double Ratchet header differs. */
export interface EncryptedBytes {
  /** The first message of a session: the X3DH prefix and the full ratchet header. */
  first: Exchange
  /** The next one in the same sending chain: the chain named by one byte. */
  steady: Exchange
  /** The first after a reply: a new ratchet key, sent in full once. */
  turn: Exchange
}

export interface Device { user: 'alice' | 'bob', client: RawClient, mailbox: Mailbox }

/**
 * alice's device sends bob's device the same text as the plaintext row, end-to-end encrypted with
 * the SDK's own session code (keys published and fetched through the real key directory), and bob's
 * device decrypts each message (a wrong byte count for a broken message would prove nothing).
 */
export async function measureEncryptedBytes (alice: Device, bob: Device, text: string, exchange: (work: () => Promise<void>) => Promise<Exchange>): Promise<EncryptedBytes> {
  const keys = { alice: newDeviceKeys(), bob: newDeviceKeys() }
  let rid = 1
  const request = async (device: Device, op: number, args: Map<number, unknown>): Promise<unknown> => {
    const id = rid++
    const answer = device.mailbox.next((a) => a.topic === responseTopic(device.user) && Response.decode(a.payload).rid === id)
    await device.client.publishAsync(COMMAND.request, Buffer.from(Request.encode({ rid: id, op, args })), 1)
    const response = Response.decode((await answer).payload)
    if (response.code !== undefined) throw new Error(`op ${op}: ${response.detail ?? response.code}`)
    return response.result
  }
  for (const device of [alice, bob]) await request(device, OP.publishKeys, publishArgs(keys[device.user]))
  const fetched = FetchBundlesResult.fromCbor(await request(alice, OP.fetchBundles, FetchBundlesArgs.toCbor({ user: 'bob' })))
  const sessions: Record<'alice' | 'bob', SessionRecord | undefined> = { alice: startSession(keys.alice.identity, Bundle.fromCbor(fetched.bundles[0])), bob: undefined }

  const send = async (from: Device, to: Device): Promise<void> => {
    const { bytes, announcement } = encryptFor(sessions[from.user]!, encodeInner({ kind: KIND.text, body: text }))
    const body = encodeEncryptedBody({ copies: new Map([[to.user, new Map([['phone', bytes]])]]) })
    const stored = from.mailbox.next((a) => a.topic === ackTopic(from.user))
    const delivered = to.mailbox.next((a) => a.topic === inboxTopic(to.user))
    const delivery = from.mailbox.next((a) => a.topic === receiptTopic(from.user) && Receipt.decode(a.payload).status === RECEIPT.delivered)
    const sent = encodeSend({ clientMsgId: randomBytes(CLIENT_MSG_ID_BYTES), to: to.user, kind: KIND.encrypted, body })
    await from.client.publishAsync(sent.topic, Buffer.from(sent.payload), 1)
    const opened = decryptFrom(sessions[to.user], InboxMessage.decode((await delivered).payload).body as Uint8Array, responderKeys(keys[to.user]))
    if (decodeInner(opened.plaintext).body !== text) throw new Error('the encrypted bytes row measured a message that does not decrypt')
    sessions[to.user] = opened.session
    if (opened.usedPreKey !== undefined) usePreKey(keys[to.user], opened.usedPreKey)
    await Promise.all([stored, delivery])
    if (announcement !== undefined) confirmAnnounced(sessions[from.user]!, announcement)
  }
  const first = await exchange(() => send(alice, bob))
  const steady = await exchange(() => send(alice, bob))
  // Not measured; its delivered receipt to bob is waited for, so it is not counted in the next row.
  await send(bob, alice)
  const turn = await exchange(() => send(alice, bob))
  return { first, steady, turn }
}

/** Bytes an encrypted exchange costs the recipient's link beyond the plaintext one (one recipient device). */
export function recipientOverhead (encrypted: Exchange, plaintext: Exchange): number {
  return (encrypted.recipient.up + encrypted.recipient.down) - (plaintext.recipient.up + plaintext.recipient.down)
}

/** The goals for encrypted bytes on the recipient's link, per recipient device. */
export const E2E_GOALS = { steady: 48, first: 160 } as const

function publishArgs (keys: DeviceKeys): Map<number, unknown> {
  const spk = currentSignedPreKey(keys)
  return PublishKeysArgs.toCbor({
    identityKey: keys.identity.publicKey,
    signedPreKeyId: spk.id,
    signedPreKey: spk.pair.publicKey,
    signature: spk.signature,
    preKeys: keys.preKeys.slice(0, 5).map(([id, pair]) => [id, pair.publicKey])
  })
}
