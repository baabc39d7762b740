import { LowbandError } from '../../../protocol/errors.js'
import { ByteReader, ByteWriter } from './byte-codec.js'
import { decryptOrThrow, encrypt, kdfCk } from './ratchet.js'
import { concat, randomBytes, sign, signingKeyPair, utf8, verify, type KeyPair } from './primitives.js'

/**
 * Sender keys, the group construction of Signal's protocol (libsignal's group cipher): each member
 * device has, per group, a chain key that it ratchets forward once per message (KDF_CK, as in the
 * Double Ratchet) and an Ed25519 signing key; it hands both to every other member device over their
 * pairwise sessions (a distribution message), then encrypts each group message once. Each message is
 * signed, so members, who all hold the chain key, cannot forge one another's messages. A new sender
 * key is made whenever a member is removed, so a removed member cannot read what follows.
 *
 *     message: key id (varint) | iteration (varint) | ciphertext+tag | Ed25519 signature (64)
 */

/** Iterations a receiver will skip forward (lost or out-of-order group messages), as libsignal's limit. */
export const MAX_SENDER_SKIP = 2000
const SIGNATURE_LENGTH = 64

/** What a member keeps of its own sender key for a group. */
export interface OwnSenderKey {
  keyId: number
  chainKey: Uint8Array
  iteration: number
  signing: KeyPair
}

/** What a member keeps of another device's sender key for a group. */
export interface PeerSenderKey {
  keyId: number
  chainKey: Uint8Array
  iteration: number
  signingPublic: Uint8Array
  /** Message keys of skipped iterations: iteration → key. */
  skipped: Array<[number, Uint8Array]>
}

/** The distribution message: everything a member needs to read this device's next messages. */
export interface SenderKeyDistribution {
  readonly keyId: number
  readonly iteration: number
  readonly chainKey: Uint8Array
  readonly signingPublic: Uint8Array
}

export function newSenderKey (): OwnSenderKey {
  // A random id (never 0): a receiver tells a sender's old key from its new one by it.
  const keyId = new DataView(randomBytes(4).buffer).getUint32(0) || 1
  return { keyId, chainKey: randomBytes(32), iteration: 0, signing: signingKeyPair() }
}

export function distributionOf (key: OwnSenderKey): SenderKeyDistribution {
  return { keyId: key.keyId, iteration: key.iteration, chainKey: key.chainKey, signingPublic: key.signing.publicKey }
}

export function encodeDistribution (d: SenderKeyDistribution): Uint8Array {
  return new ByteWriter().varint(d.keyId).varint(d.iteration).bytes(d.chainKey).bytes(d.signingPublic).finish()
}

export function decodeDistribution (bytes: Uint8Array): SenderKeyDistribution {
  const reader = new ByteReader(bytes)
  return { keyId: reader.varint(), iteration: reader.varint(), chainKey: reader.bytes(32), signingPublic: reader.bytes(32) }
}

export function peerKeyOf (d: SenderKeyDistribution): PeerSenderKey {
  return { keyId: d.keyId, iteration: d.iteration, chainKey: d.chainKey, signingPublic: d.signingPublic, skipped: [] }
}

/**
 * Encrypts one group message under this device's sender key (moving it on). `context` names the
 * group and the sending device: bound into the AEAD so a message cannot be replayed into another
 * group or passed off as another device's.
 */
export function groupEncrypt (key: OwnSenderKey, plaintext: Uint8Array, context: string): Uint8Array {
  const [next, mk] = kdfCk(key.chainKey)
  const header = new ByteWriter().varint(key.keyId).varint(key.iteration).finish()
  key.chainKey = next
  key.iteration += 1
  const body = concat(header, encrypt(mk, plaintext, concat(utf8(context), header)))
  return concat(body, sign(key.signing.secretKey, body))
}

/** The key id of a group message: which of a sender's keys it needs. */
export function groupKeyId (message: Uint8Array): number {
  return new ByteReader(message).varint()
}

/** Decrypts a group message on a copy of `key`: the plaintext and the key's new state; UNDECRYPTABLE, `key` untouched, otherwise. */
export function groupDecrypt (key: PeerSenderKey, message: Uint8Array, context: string): { plaintext: Uint8Array, key: PeerSenderKey } {
  if (message.length < SIGNATURE_LENGTH + 18) throw new LowbandError('BAD_KEYS', 'truncated group message')
  const body = message.subarray(0, message.length - SIGNATURE_LENGTH)
  const reader = new ByteReader(body)
  const keyId = reader.varint()
  const iteration = reader.varint()
  const header = body.subarray(0, body.length - reader.rest().length)
  const ciphertext = body.subarray(header.length)
  if (keyId !== key.keyId) throw new LowbandError('UNDECRYPTABLE', 'a sender key this device was never given')
  if (!verify(key.signingPublic, body, message.subarray(message.length - SIGNATURE_LENGTH))) throw new LowbandError('UNDECRYPTABLE', 'the group message signature does not verify')
  const next: PeerSenderKey = { ...key, skipped: [...key.skipped] }
  let mk: Uint8Array
  if (iteration < next.iteration) {
    const index = next.skipped.findIndex(([i]) => i === iteration)
    if (index < 0) throw new LowbandError('UNDECRYPTABLE', 'a group message key already used')
    mk = next.skipped[index]![1]
    next.skipped.splice(index, 1)
  } else {
    if (iteration - next.iteration > MAX_SENDER_SKIP) throw new LowbandError('UNDECRYPTABLE', `more than ${MAX_SENDER_SKIP} group messages skipped`)
    while (next.iteration < iteration) {
      const [chainKey, skippedKey] = kdfCk(next.chainKey)
      next.skipped.push([next.iteration, skippedKey])
      next.chainKey = chainKey
      next.iteration += 1
    }
    const [chainKey, messageKey] = kdfCk(next.chainKey)
    mk = messageKey
    next.chainKey = chainKey
    next.iteration += 1
    if (next.skipped.length > MAX_SENDER_SKIP) next.skipped.splice(0, next.skipped.length - MAX_SENDER_SKIP)
  }
  return { plaintext: decryptOrThrow(mk, ciphertext, concat(utf8(context), header)), key: next }
}
