import { LowbandError } from '../../../protocol/errors.js'
import { ByteWriter } from './byte-codec.js'
import { concat, dh, dhKeyPair, hmacSha256, kdf, open, seal, toHex, type KeyPair } from './primitives.js'

/**
 * The Double Ratchet (signal.org/docs/specifications/doubleratchet, revision 1), with the
 * recommended KDFs: KDF_RK is HKDF-SHA-256 keyed by the root key, KDF_CK is HMAC-SHA-256 with the
 * constants 0x01 (message key) and 0x02 (next chain key). ENCRYPT is an AEAD, as §5.2 allows:
 * ChaCha20-Poly1305 under a key and nonce expanded from the message key by HKDF (each message key
 * encrypts exactly one message), with the associated data AD || header.
 *
 * What is compact here is only how a header is *sent*, never what is authenticated: the AEAD's
 * associated data is always the full header (the sender's ratchet key, PN and N). See
 * pairwise-message.ts for what travels.
 *
 * The state is a plain object of numbers and bytes (CBOR-serialisable, so a device can keep it in its
 * state file). decrypt() works on a copy and returns the new state only when the message decrypted:
 * a forged or corrupted message changes nothing (§3.5: "if an exception is raised … discard
 * changes").
 */

/** Most message keys skipped in one chain (§3.2 MAX_SKIP): the window in which lost and late messages still decrypt. */
export const MAX_SKIP = 1000
/** Most skipped message keys kept across chains; the oldest go first. */
export const MAX_SKIPPED_KEYS = 2000
/** Remote chains remembered, for headers that name a chain by its number. */
const REMEMBERED_CHAINS = 4

const ROOT_INFO = 'lowband ratchet root'
const MESSAGE_INFO = 'lowband message keys'

export interface RemoteChain {
  /** The sender's number for this chain (counts its DH ratchet steps), as its headers name it. */
  readonly index: number
  readonly key: Uint8Array
  /** PN announced with this chain: part of every header of the chain. */
  readonly pn: number
}

export interface RatchetState {
  rk: Uint8Array
  dhs: KeyPair
  /** My sending chain's number: it goes up with every new ratchet key of mine. */
  sendChain: number
  dhr?: RemoteChain
  cks?: Uint8Array
  ckr?: Uint8Array
  ns: number
  nr: number
  pn: number
  /** `<remote ratchet key hex>:<n>` → message key, oldest first. */
  skipped: Array<[string, Uint8Array]>
  /** Recent remote chains, newest last. */
  chains: RemoteChain[]
}

/** A full header: what the AEAD authenticates (and what a receiver reconstructs from a compact one). */
export interface Header {
  readonly chain: number
  readonly key: Uint8Array
  readonly pn: number
  readonly n: number
}

/** §3.3 RatchetInitAlice: the initiator, with the shared secret and the responder's signed prekey as its first ratchet key. */
export function initAlice (sk: Uint8Array, bobRatchetKey: Uint8Array): RatchetState {
  const dhs = dhKeyPair()
  const [rk, cks] = kdfRk(sk, dh(dhs.secretKey, bobRatchetKey))
  return { rk, dhs, sendChain: 1, dhr: { index: 0, key: bobRatchetKey, pn: 0 }, cks, ns: 0, nr: 0, pn: 0, skipped: [], chains: [] }
}

/** §3.3 RatchetInitBob: the responder, whose signed prekey pair is its first ratchet key pair. */
export function initBob (sk: Uint8Array, signedPreKey: KeyPair): RatchetState {
  return { rk: sk, dhs: signedPreKey, sendChain: 0, ns: 0, nr: 0, pn: 0, skipped: [], chains: [] }
}

/** §3.4 RatchetEncrypt: the header and the ciphertext; the state moves one message on. */
export function ratchetEncrypt (state: RatchetState, plaintext: Uint8Array, ad: Uint8Array): { header: Header, ciphertext: Uint8Array } {
  if (state.cks === undefined) throw new LowbandError('UNDECRYPTABLE', 'no sending chain yet')
  const [cks, mk] = kdfCk(state.cks)
  state.cks = cks
  const header: Header = { chain: state.sendChain, key: state.dhs.publicKey, pn: state.pn, n: state.ns }
  state.ns += 1
  return { header, ciphertext: encrypt(mk, plaintext, concat(ad, headerBytes(header))) }
}

/**
 * A header as received: in full, or by chain number only (`key` absent) when the sender knows its
 * full header of this chain was stored ahead of this message.
 */
export interface ReceivedHeader {
  readonly chain: number
  readonly key?: Uint8Array
  readonly pn?: number
  readonly n: number
}

/** §3.5 RatchetDecrypt, on a copy of `state`: the plaintext and the new state, or UNDECRYPTABLE with `state` untouched. */
export function ratchetDecrypt (state: RatchetState, received: ReceivedHeader, ciphertext: Uint8Array, ad: Uint8Array): { plaintext: Uint8Array, state: RatchetState } {
  const next = copyState(state)
  const header = fullHeader(next, received)
  const fullAd = concat(ad, headerBytes(header))
  const skippedIndex = next.skipped.findIndex(([id]) => id === skippedId(header.key, header.n))
  if (skippedIndex >= 0) {
    const mk = next.skipped[skippedIndex]![1]
    next.skipped.splice(skippedIndex, 1)
    return { plaintext: decryptOrThrow(mk, ciphertext, fullAd), state: next }
  }
  if (next.dhr === undefined || !sameKey(header.key, next.dhr.key)) {
    skipMessageKeys(next, header.pn)
    dhRatchet(next, header)
  }
  skipMessageKeys(next, header.n)
  const [ckr, mk] = kdfCk(next.ckr!)
  next.ckr = ckr
  next.nr += 1
  return { plaintext: decryptOrThrow(mk, ciphertext, fullAd), state: next }
}

/** The full header a received one stands for: a chain named by number must be one already seen. */
function fullHeader (state: RatchetState, received: ReceivedHeader): Header {
  if (received.key !== undefined) return { chain: received.chain, key: received.key, pn: received.pn ?? 0, n: received.n }
  const chain = state.chains.findLast((c) => (c.index & 0xff) === received.chain)
  if (chain === undefined) throw new LowbandError('UNDECRYPTABLE', 'a header names a chain this session never saw')
  return { chain: chain.index, key: chain.key, pn: chain.pn, n: received.n }
}

function skipMessageKeys (state: RatchetState, until: number): void {
  if (state.nr + MAX_SKIP < until) throw new LowbandError('UNDECRYPTABLE', `more than ${MAX_SKIP} messages skipped`)
  if (state.ckr === undefined || state.dhr === undefined) return
  while (state.nr < until) {
    const [ckr, mk] = kdfCk(state.ckr)
    state.ckr = ckr
    state.skipped.push([skippedId(state.dhr.key, state.nr), mk])
    state.nr += 1
  }
  if (state.skipped.length > MAX_SKIPPED_KEYS) state.skipped.splice(0, state.skipped.length - MAX_SKIPPED_KEYS)
}

/** §3.5 DHRatchet: a new remote ratchet key → a receiving chain from it, and a new key pair of mine with a sending chain. */
function dhRatchet (state: RatchetState, header: Header): void {
  state.pn = state.ns
  state.ns = 0
  state.nr = 0
  state.dhr = { index: header.chain, key: header.key, pn: header.pn }
  state.chains = [...state.chains, state.dhr].slice(-REMEMBERED_CHAINS)
  ;[state.rk, state.ckr] = kdfRk(state.rk, dh(state.dhs.secretKey, header.key))
  state.dhs = dhKeyPair()
  state.sendChain += 1
  ;[state.rk, state.cks] = kdfRk(state.rk, dh(state.dhs.secretKey, header.key))
}

/** KDF_RK (§5.2): HKDF with the root key as salt, the DH output as input; 32 bytes of root key, 32 of chain key. */
function kdfRk (rk: Uint8Array, dhOut: Uint8Array): [Uint8Array, Uint8Array] {
  const out = kdf(dhOut, rk, ROOT_INFO, 64)
  return [out.slice(0, 32), out.slice(32)]
}

const MESSAGE_KEY_CONSTANT = Uint8Array.of(0x01)
const CHAIN_KEY_CONSTANT = Uint8Array.of(0x02)

/** KDF_CK (§5.2): HMAC-SHA-256 of a constant under the chain key: 0x02 → next chain key, 0x01 → message key. */
export function kdfCk (ck: Uint8Array): [Uint8Array, Uint8Array] {
  return [hmacSha256(ck, CHAIN_KEY_CONSTANT), hmacSha256(ck, MESSAGE_KEY_CONSTANT)]
}

/** ENCRYPT (§5.2, as an AEAD): a key and a nonce from the message key by HKDF with a zero salt. */
export function encrypt (mk: Uint8Array, plaintext: Uint8Array, ad: Uint8Array): Uint8Array {
  const { key, nonce } = messageKeys(mk)
  return seal(key, nonce, plaintext, ad)
}

export function decryptOrThrow (mk: Uint8Array, ciphertext: Uint8Array, ad: Uint8Array): Uint8Array {
  const { key, nonce } = messageKeys(mk)
  const plaintext = open(key, nonce, ciphertext, ad)
  if (plaintext === undefined) throw new LowbandError('UNDECRYPTABLE', 'authentication failed')
  return plaintext
}

const ZERO_SALT = new Uint8Array(32)

function messageKeys (mk: Uint8Array): { key: Uint8Array, nonce: Uint8Array } {
  const out = kdf(mk, ZERO_SALT, MESSAGE_INFO, 44)
  return { key: out.subarray(0, 32), nonce: out.subarray(32) }
}

/** The header as authenticated: the ratchet key, PN and N, whatever of it was sent. */
function headerBytes (header: Header): Uint8Array {
  return new ByteWriter().bytes(header.key).varint(header.pn).varint(header.n).finish()
}

function skippedId (key: Uint8Array, n: number): string {
  return `${toHex(key)}:${n}`
}

function sameKey (a: Uint8Array, b: Uint8Array): boolean {
  return toHex(a) === toHex(b)
}

function copyState (state: RatchetState): RatchetState {
  return { ...state, skipped: [...state.skipped], chains: [...state.chains] }
}
