import { LowbandError } from '../../../protocol/errors.js'
import { decodePairwise, encodePairwise } from './pairwise-message.js'
import { equalBytes, type KeyPair } from './primitives.js'
import { initAlice, initBob, ratchetDecrypt, ratchetEncrypt, type RatchetState } from './ratchet.js'
import { initiate, respond, type PreKeyBundle, type PreKeyPrefix } from './x3dh.js'

/**
 * One pairwise session, this device ↔ one device of another (or the same) user: X3DH to start it,
 * the Double Ratchet to run it, and the rule for what a header must carry (pairwise-message.ts).
 */
export interface SessionRecord {
  /** X3DH's AD: Encode(IK_A) || Encode(IK_B). */
  ad: Uint8Array
  /** The other device's identity key (Ed25519). */
  remoteIdentity: Uint8Array
  ratchet: RatchetState
  /** Initiator: the X3DH prefix, sent with every message until one carrying it is stored. */
  pendingPrefix?: PreKeyPrefix
  /** Responder: the initiator's base key, so a repeated prefix reuses this session. */
  baseKey?: Uint8Array
  /** My sending chain whose full header is known to be stored (compact headers from then on). */
  announcedChain?: number
}

/** What to confirm once the message is stored: its full header (and prefix) travelled ahead of what follows. */
export interface Announcement {
  readonly chain: number
  readonly prefix: boolean
}

/** Starts a session as the initiator from the other device's bundle (its signature is checked). */
export function startSession (identity: KeyPair, bundle: PreKeyBundle): SessionRecord {
  const { sk, ad, prefix } = initiate(identity, bundle)
  return { ad, remoteIdentity: bundle.identityKey, ratchet: initAlice(sk, bundle.signedPreKey), pendingPrefix: prefix }
}

/** Encrypts `plaintext` (moving the session on) into the bytes of one device's copy. */
export function encryptFor (session: SessionRecord, plaintext: Uint8Array): { bytes: Uint8Array, announcement?: Announcement } {
  const { header, ciphertext } = ratchetEncrypt(session.ratchet, plaintext, session.ad)
  const fullKey = session.announcedChain !== header.chain
  const bytes = encodePairwise(header, ciphertext, { fullKey, prefix: session.pendingPrefix })
  return fullKey || session.pendingPrefix !== undefined ? { bytes, announcement: { chain: header.chain, prefix: session.pendingPrefix !== undefined } } : { bytes }
}

/** The message that carried the announcement is stored: later messages may name the chain by number. */
export function confirmAnnounced (session: SessionRecord, announcement: Announcement): void {
  if (announcement.prefix) delete session.pendingPrefix
  if (session.ratchet.sendChain === announcement.chain) session.announcedChain = announcement.chain
}

/** The private keys a responder needs, by id. */
export interface ResponderKeys {
  readonly identity: KeyPair
  signedPreKey (id: number): KeyPair | undefined
  preKey (id: number): KeyPair | undefined
}

/**
 * Decrypts one device's copy. A prekey message starts a new session unless it repeats the prefix
 * of the current one; `session` is then the replacement to store, and `usedPreKey` the one-time
 * prekey to delete now (only after the message authenticated: a forged prekey message must not burn
 * a real one). UNDECRYPTABLE when it cannot be read (no session, unknown prekey, forged or
 * corrupted); nothing changes then.
 */
export function decryptFrom (existing: SessionRecord | undefined, bytes: Uint8Array, keys: ResponderKeys): { plaintext: Uint8Array, session: SessionRecord, usedPreKey?: number } {
  const message = decodePairwise(bytes)
  let session = existing
  let usedPreKey: number | undefined
  if (message.prefix !== undefined && (existing?.baseKey === undefined || !equalBytes(existing.baseKey, message.prefix.baseKey))) {
    const signedPreKey = keys.signedPreKey(message.prefix.signedPreKeyId)
    if (signedPreKey === undefined) throw new LowbandError('UNDECRYPTABLE', `unknown signed prekey ${message.prefix.signedPreKeyId}`)
    let preKey: KeyPair | undefined
    if (message.prefix.preKeyId !== 0) {
      preKey = keys.preKey(message.prefix.preKeyId)
      if (preKey === undefined) throw new LowbandError('UNDECRYPTABLE', `one-time prekey ${message.prefix.preKeyId} is used or unknown`)
      usedPreKey = message.prefix.preKeyId
    }
    const { sk, ad } = respond(keys.identity, message.prefix, signedPreKey, preKey)
    session = { ad, remoteIdentity: message.prefix.identityKey, ratchet: initBob(sk, signedPreKey), baseKey: message.prefix.baseKey }
  }
  if (session === undefined) throw new LowbandError('UNDECRYPTABLE', 'no session with that device')
  const { plaintext, state } = ratchetDecrypt(session.ratchet, message.header, message.ciphertext, session.ad)
  return { plaintext, session: { ...session, ratchet: state }, ...(usedPreKey === undefined ? {} : { usedPreKey }) }
}
