import { LowbandError } from '../../../protocol/errors.js'
import { concat, dh, dhKeyPair, identityDhPublic, identityDhSecret, kdf, sign, verify, type KeyPair } from './primitives.js'

/**
 * X3DH (signal.org/docs/specifications/x3dh, revision 1) over X25519 and SHA-256. Identity keys are
 * Ed25519 (they sign the signed prekey) and take part in the DHs through the birational map to
 * X25519 (primitives.ts). The initiator's identity key, ephemeral key and the prekey ids it used
 * travel in its first messages (pairwise-message.ts); AD = Encode(IK_A) || Encode(IK_B).
 */

const INFO = 'lowband X3DH'
/** §2.2 F: 32 0xFF bytes before the DH outputs, for X25519. */
const F = new Uint8Array(32).fill(0xff)
const ZERO_SALT = new Uint8Array(32)
/** §2.5 Encode: a curve type byte (0x05 for Curve25519, as Signal) and the X25519 u-coordinate. */
const CURVE25519 = Uint8Array.of(0x05)

export function encodeKey (x25519Public: Uint8Array): Uint8Array {
  return concat(CURVE25519, x25519Public)
}

/** What a responder publishes for its signed prekey: the identity key's signature of Encode(SPK). */
export function signPreKey (identity: KeyPair, preKeyPublic: Uint8Array): Uint8Array {
  return sign(identity.secretKey, encodeKey(preKeyPublic))
}

export function verifyPreKey (identityPublic: Uint8Array, preKeyPublic: Uint8Array, signature: Uint8Array): boolean {
  return verify(identityPublic, encodeKey(preKeyPublic), signature)
}

/** A fetched prekey bundle (protocol/e2e.ts Bundle). */
export interface PreKeyBundle {
  readonly identityKey: Uint8Array
  readonly signedPreKeyId: number
  readonly signedPreKey: Uint8Array
  readonly signature: Uint8Array
  readonly preKeyId?: number
  readonly preKey?: Uint8Array
}

/** What the initiator's first messages carry so the responder can compute the same secret. */
export interface PreKeyPrefix {
  readonly identityKey: Uint8Array
  readonly baseKey: Uint8Array
  readonly signedPreKeyId: number
  /** 0 when no one-time prekey was used. */
  readonly preKeyId: number
}

/** §3.3: the initiator's side. Refuses a bundle whose signature does not verify (BAD_KEYS). */
export function initiate (identity: KeyPair, bundle: PreKeyBundle): { sk: Uint8Array, ad: Uint8Array, prefix: PreKeyPrefix } {
  if (!verifyPreKey(bundle.identityKey, bundle.signedPreKey, bundle.signature)) throw new LowbandError('BAD_KEYS', 'the signed prekey signature does not verify')
  const ephemeral = dhKeyPair()
  const ikA = identityDhSecret(identity.secretKey)
  const ikB = identityDhPublic(bundle.identityKey)
  const dhs = [dh(ikA, bundle.signedPreKey), dh(ephemeral.secretKey, ikB), dh(ephemeral.secretKey, bundle.signedPreKey)]
  if (bundle.preKey !== undefined) dhs.push(dh(ephemeral.secretKey, bundle.preKey))
  return {
    sk: kdf(concat(F, ...dhs), ZERO_SALT, INFO, 32),
    ad: associatedData(identity.publicKey, bundle.identityKey),
    prefix: { identityKey: identity.publicKey, baseKey: ephemeral.publicKey, signedPreKeyId: bundle.signedPreKeyId, preKeyId: bundle.preKeyId ?? 0 }
  }
}

/** §3.4: the responder's side, with the private halves of the prekeys the prefix names. */
export function respond (identity: KeyPair, prefix: PreKeyPrefix, signedPreKey: KeyPair, preKey: KeyPair | undefined): { sk: Uint8Array, ad: Uint8Array } {
  const ikB = identityDhSecret(identity.secretKey)
  const ikA = identityDhPublic(prefix.identityKey)
  const dhs = [dh(signedPreKey.secretKey, ikA), dh(ikB, prefix.baseKey), dh(signedPreKey.secretKey, prefix.baseKey)]
  if (preKey !== undefined) dhs.push(dh(preKey.secretKey, prefix.baseKey))
  return { sk: kdf(concat(F, ...dhs), ZERO_SALT, INFO, 32), ad: associatedData(prefix.identityKey, identity.publicKey) }
}

/** AD = Encode(IK_A) || Encode(IK_B), initiator first. */
function associatedData (initiatorIdentity: Uint8Array, responderIdentity: Uint8Array): Uint8Array {
  return concat(encodeKey(identityDhPublic(initiatorIdentity)), encodeKey(identityDhPublic(responderIdentity)))
}

/** A fresh signed prekey pair and its signature. */
export function newSignedPreKey (identity: KeyPair): { pair: KeyPair, signature: Uint8Array } {
  const pair = dhKeyPair()
  return { pair, signature: signPreKey(identity, pair.publicKey) }
}
