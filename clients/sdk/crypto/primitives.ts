import { chacha20poly1305 } from '@noble/ciphers/chacha.js'
import { ed25519, x25519 } from '@noble/curves/ed25519.js'
import { hkdf } from '@noble/hashes/hkdf.js'
import { hmac } from '@noble/hashes/hmac.js'
import { sha256, sha512 } from '@noble/hashes/sha2.js'
import { concat } from '../bytes.js'

/**
 * The only door to the cryptographic primitives: audited @noble libraries (X25519, Ed25519,
 * HKDF/HMAC-SHA-256, SHA-512, ChaCha20-Poly1305) and the platform's getRandomValues. Nothing here
 * is home-made; the protocols above (X3DH, Double Ratchet, sender keys, safety numbers) compose
 * these as the Signal specifications describe. No `node:` import: the SDK runs in a browser too.
 */

export interface KeyPair {
  readonly publicKey: Uint8Array
  readonly secretKey: Uint8Array
}

export function randomBytes (length: number): Uint8Array {
  return globalThis.crypto.getRandomValues(new Uint8Array(length))
}

/** A fresh X25519 key pair (ephemeral, ratchet and prekeys). */
export function dhKeyPair (): KeyPair {
  const secretKey = x25519.utils.randomSecretKey()
  return { secretKey, publicKey: x25519.getPublicKey(secretKey) }
}

/** X25519 (RFC 7748); throws on a low-order public key, as the X3DH spec requires of a DH output. */
export function dh (secretKey: Uint8Array, publicKey: Uint8Array): Uint8Array {
  return x25519.getSharedSecret(secretKey, publicKey)
}

/** A fresh Ed25519 key pair: identity keys and sender-key signing keys. */
export function signingKeyPair (): KeyPair {
  const secretKey = ed25519.utils.randomSecretKey()
  return { secretKey, publicKey: ed25519.getPublicKey(secretKey) }
}

export function sign (secretKey: Uint8Array, message: Uint8Array): Uint8Array {
  return ed25519.sign(message, secretKey)
}

export function verify (publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  try {
    return ed25519.verify(signature, message, publicKey)
  } catch {
    return false
  }
}

/**
 * An Ed25519 identity key used for Diffie-Hellman: the birational map to X25519 (RFC 7748 §4.1),
 * as libsodium's crypto_sign_ed25519_pk_to_curve25519. X3DH needs an identity key that both signs
 * (the signed prekey) and agrees (DH1, DH2); Signal uses XEdDSA for that, this the reverse map.
 */
export function identityDhPublic (identityPublic: Uint8Array): Uint8Array {
  return ed25519.utils.toMontgomery(identityPublic)
}

export function identityDhSecret (identitySecret: Uint8Array): Uint8Array {
  return ed25519.utils.toMontgomerySecret(identitySecret)
}

/** HKDF-SHA-256 (RFC 5869). */
export function kdf (ikm: Uint8Array, salt: Uint8Array, info: string | Uint8Array, length: number): Uint8Array {
  return hkdf(sha256, ikm, salt, typeof info === 'string' ? utf8(info) : info, length)
}

export function hmacSha256 (key: Uint8Array, data: Uint8Array): Uint8Array {
  return hmac(sha256, key, data)
}

export function sha512Of (...parts: Uint8Array[]): Uint8Array {
  return sha512(concat(...parts))
}

/** ChaCha20-Poly1305 (RFC 8439): a 32-byte key, a 12-byte nonce, a 16-byte tag. */
export function seal (key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array, ad: Uint8Array): Uint8Array {
  return chacha20poly1305(key, nonce, ad).encrypt(plaintext)
}

/** The plaintext, or undefined when the tag does not verify. */
export function open (key: Uint8Array, nonce: Uint8Array, ciphertext: Uint8Array, ad: Uint8Array): Uint8Array | undefined {
  try {
    return chacha20poly1305(key, nonce, ad).decrypt(ciphertext)
  } catch {
    return undefined
  }
}

const encoder = new TextEncoder()

export function utf8 (text: string): Uint8Array {
  return encoder.encode(text)
}

export { concat }

export function equalBytes (a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  let difference = 0
  for (let i = 0; i < a.length; i++) difference |= a[i]! ^ b[i]!
  return difference === 0
}

export function toHex (bytes: Uint8Array): string {
  let hex = ''
  for (const byte of bytes) hex += byte.toString(16).padStart(2, '0')
  return hex
}
