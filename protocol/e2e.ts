import { z } from 'zod'
import { decodeCbor, encodeCbor, type CborLimits } from './cbor.js'
import { defineEnvelope } from './envelope.js'
import { KIND } from './envelopes.js'
import { LowbandError } from './errors.js'

/**
 * The end-to-end encryption part of the wire contract: the key directory's requests (ops 40–49 on
 * `c/q`), the low-prekey notice (`u/<user>/k`), and the encrypted body the broker splits into
 * per-device copies without reading them. The cryptography itself lives in the SDK
 * (clients/sdk/crypto); the broker only checks shapes and sizes.
 */

const id = z.string().regex(/^[A-Za-z0-9_.@-]{1,64}$/)
const uint = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER)
const bytesOf = (length: number) => z.custom<Uint8Array>((v) => v instanceof Uint8Array && v.length === length, `expected ${length} bytes`)
const keyId = uint.min(1).max(0xffffffff)

/** A public key: 32 bytes (Ed25519 for identities, X25519 for prekeys). */
export const publicKey = bytesOf(32)
/** An Ed25519 signature. */
export const signature = bytesOf(64)

/** Most one-time prekeys one publishKeys may carry (the SDK sends 50 at a time). */
export const MAX_PREKEYS_PER_PUBLISH = 200
/** Below this many one-time prekeys left, the broker tells the device to publish more. */
export const PREKEYS_LOW = 10

/**
 * publishKeys (op 40): a device's identity key (Ed25519), its current signed prekey (id, X25519 key,
 * and the identity key's Ed25519 signature of it) and a batch of one-time prekeys, each `[id, key]`.
 * The same identity adds the prekeys (and replaces the signed prekey); a new identity replaces
 * everything and tells the user's correspondents that the security code changed. Result:
 * PublishKeysResult.
 */
export const PublishKeysArgs = defineEnvelope({ identityKey: 1, signedPreKeyId: 2, signedPreKey: 3, signature: 4, preKeys: 5 }, z.object({
  identityKey: publicKey,
  signedPreKeyId: keyId,
  signedPreKey: publicKey,
  signature,
  preKeys: z.array(z.tuple([keyId, publicKey])).max(MAX_PREKEYS_PER_PUBLISH).optional()
}))
export type PublishKeysArgs = ReturnType<typeof PublishKeysArgs.decode>

/** The result of publishKeys: how many one-time prekeys the directory now holds for the device. */
export const PublishKeysResult = defineEnvelope({ preKeys: 1 }, z.object({ preKeys: uint }))

/**
 * fetchBundles (op 41): the prekey bundles of `user`'s devices with keys, except those listed
 * (the caller's existing sessions, or itself). Each bundle takes one one-time prekey, atomically:
 * two fetchers never get the same one. Result: FetchBundlesResult.
 */
export const FetchBundlesArgs = defineEnvelope({ user: 1, except: 2 }, z.object({ user: id, except: z.array(id).max(64).optional() }))

/** One device's prekey bundle; `preKey` is absent when its one-time prekeys ran out (X3DH then uses three DHs). */
export const Bundle = defineEnvelope({ device: 1, identityKey: 2, signedPreKeyId: 3, signedPreKey: 4, signature: 5, preKeyId: 6, preKey: 7 }, z.object({
  device: id,
  identityKey: publicKey,
  signedPreKeyId: keyId,
  signedPreKey: publicKey,
  signature,
  preKeyId: keyId.optional(),
  preKey: publicKey.optional()
}))
export type Bundle = ReturnType<typeof Bundle.decode>

/** The bundles asked for, and every device of the user that has keys (so a caller learns of removed devices). */
export const FetchBundlesResult = defineEnvelope({ bundles: 1, devices: 2 }, z.object({ bundles: z.array(z.unknown()), devices: z.array(id) }))

/** u/<user>/k — broker → devices: `device` has only `preKeys` one-time prekeys left; it should publish more. */
export const PreKeysLow = defineEnvelope({ device: 1, preKeys: 2 }, z.object({ device: id, preKeys: uint }))
export type PreKeysLow = ReturnType<typeof PreKeysLow.decode>

/** Kinds whose body is an EncryptedBody the broker splits per device. */
export function isEncryptedKind (kind: number): boolean {
  return kind === KIND.encrypted || kind === KIND.encryptedGroup || kind === KIND.resend
}

/** Per recipient user, per device: that device's ciphertext. */
export type Copies = Map<string, Map<string, Uint8Array>>

/**
 * The body of an encrypted send (kinds 3, 4 and 6), as CBOR bytes: 1 copies (user → device →
 * ciphertext, one per device, each under that device pair's session) and, for a group message,
 * 2 shared (the one ciphertext under the sender's sender key). The broker stores it whole and
 * delivers each device only its own part (deviceBody).
 */
export interface EncryptedBody {
  copies: Copies
  shared?: Uint8Array
}

const MAX_COPIES = 4096
/**
 * What an encrypted body may hold, checked before it is decoded (the broker decodes what a device
 * sent): a map of users, each a map of devices to bytes, and the shared bytes.
 */
const ENCRYPTED_BODY_LIMITS: CborLimits = Object.freeze({ maxDepth: 3, maxEntries: MAX_COPIES, maxContainers: MAX_COPIES + 2, maxItems: 4 * MAX_COPIES + 8 })

/** Decodes and checks the shape of an EncryptedBody: BAD_KEYS when it is not one. */
export function decodeEncryptedBody (body: Uint8Array | string): EncryptedBody {
  if (!(body instanceof Uint8Array)) throw new LowbandError('BAD_KEYS', 'an encrypted body is bytes')
  const item = decodeCbor(body, ENCRYPTED_BODY_LIMITS)
  if (!(item instanceof Map)) throw new LowbandError('BAD_KEYS', 'an encrypted body is a map')
  const rawCopies = item.get(1) ?? new Map()
  const shared = item.get(2)
  if (!(rawCopies instanceof Map)) throw new LowbandError('BAD_KEYS', 'copies: a map of users')
  if (shared !== undefined && !(shared instanceof Uint8Array)) throw new LowbandError('BAD_KEYS', 'shared: bytes')
  const copies: Copies = new Map()
  let count = 0
  for (const [user, devices] of rawCopies) {
    if (typeof user !== 'string' || !id.safeParse(user).success || !(devices instanceof Map)) throw new LowbandError('BAD_KEYS', 'copies: user → device → bytes')
    const perDevice = new Map<string, Uint8Array>()
    for (const [device, ciphertext] of devices) {
      if (typeof device !== 'string' || !id.safeParse(device).success || !(ciphertext instanceof Uint8Array)) throw new LowbandError('BAD_KEYS', 'copies: user → device → bytes')
      perDevice.set(device, ciphertext)
      if (++count > MAX_COPIES) throw new LowbandError('BAD_KEYS', 'too many copies')
    }
    copies.set(user, perDevice)
  }
  return shared === undefined ? { copies } : { copies, shared }
}

export function encodeEncryptedBody (body: EncryptedBody): Uint8Array {
  return encodeCbor(new Map<number, unknown>([[1, body.copies], ...(body.shared === undefined ? [] : [[2, body.shared] as [number, unknown]])]))
}

const EMPTY = new Uint8Array(0)

/**
 * What one device receives of an encrypted body: for kinds 3 and 6 its copy alone (empty when the
 * message holds none for it: a resend addressed to another device); for a group message (kind 4)
 * the CBOR array [shared] or [shared, copy] when its copy carries the sender's key.
 */
export function deviceBody (kind: number, body: EncryptedBody, user: string, device: string): Uint8Array {
  const copy = body.copies.get(user)?.get(device)
  if (kind !== KIND.encryptedGroup) return copy ?? EMPTY
  return encodeCbor(copy === undefined ? [body.shared ?? EMPTY] : [body.shared ?? EMPTY, copy])
}

/** The reverse of deviceBody for a group message: the shared ciphertext and this device's copy, if any. */
export function decodeGroupDeviceBody (body: Uint8Array): { shared: Uint8Array, copy?: Uint8Array } {
  const item = decodeCbor(body)
  if (!Array.isArray(item) || !(item[0] instanceof Uint8Array) || (item[1] !== undefined && !(item[1] instanceof Uint8Array))) {
    throw new LowbandError('BAD_KEYS', 'a group body is [shared, copy?]')
  }
  return item[1] === undefined ? { shared: item[0] } : { shared: item[0], copy: item[1] as Uint8Array }
}

/**
 * The body of a retry request (kind 5, plaintext: it carries no content): `device` of the sender
 * could not decrypt message `cseq` (of `group`, or of the 1:1 conversation) and asks the sending
 * device `to` to send it again over a new session.
 */
export const RetryRequest = defineEnvelope({ device: 1, to: 2, cseq: 3, group: 4 }, z.object({ device: id, to: id, cseq: uint.min(1), group: id.optional() }))
export type RetryRequest = ReturnType<typeof RetryRequest.decode>

/** A retry request's body is one map of scalars, checked like any payload a device sends before it is decoded. */
const RETRY_REQUEST_LIMITS: CborLimits = Object.freeze({ maxDepth: 1, maxEntries: 16, maxContainers: 1, maxItems: 64 })

/** The RetryRequest a kind-5 body carries: BAD_ENVELOPE (or BAD_ENCODING) when it is none. */
export function decodeRetryRequest (body: Uint8Array | string): RetryRequest {
  if (!(body instanceof Uint8Array)) throw new LowbandError('BAD_ENVELOPE', 'body: a retry request carries a RetryRequest, as bytes')
  return RetryRequest.fromCbor(decodeCbor(body, RETRY_REQUEST_LIMITS))
}
