import { concat, identityDhPublic, sha512Of, utf8 } from './primitives.js'
import { encodeKey } from './x3dh.js'

/**
 * Signal's numeric fingerprint ("safety number"; libsignal NumericFingerprintGenerator, version 0):
 * per user, hash = version || keys || stable id, then 5200 times hash = SHA-512(hash || keys); the first
 * 30 bytes as six 5-byte big-endian numbers mod 100 000, five digits each. The two users' 30 digits,
 * the lower first, make the 60-digit number, the same on both sides. Each device of a user has its own
 * identity key here, so a user's keys are all its devices' keys, sorted and concatenated, as libsignal
 * does for a list of identity keys.
 */
export const FINGERPRINT_ITERATIONS = 5200
const VERSION = Uint8Array.of(0, 0)

/** 30 digits for one user: `keys` are Encode(key) (33 bytes each). */
export function fingerprintDigits (stableId: string, keys: readonly Uint8Array[], iterations = FINGERPRINT_ITERATIONS): string {
  const logical = concat(...[...keys].sort(compareBytes))
  let hash = concat(VERSION, logical, utf8(stableId))
  for (let i = 0; i < iterations; i++) hash = sha512Of(hash, logical)
  let digits = ''
  for (let chunk = 0; chunk < 6; chunk++) {
    let value = 0
    for (let i = 0; i < 5; i++) value = value * 256 + hash[chunk * 5 + i]!
    digits += String(value % 100_000).padStart(5, '0')
  }
  return digits
}

/** The safety number of two users, given each one's device identity keys (Ed25519): 60 digits. */
export function safetyNumber (self: { user: string, identityKeys: readonly Uint8Array[] }, other: { user: string, identityKeys: readonly Uint8Array[] }): string {
  const mine = fingerprintDigits(self.user, self.identityKeys.map((k) => encodeKey(identityDhPublic(k))))
  const theirs = fingerprintDigits(other.user, other.identityKeys.map((k) => encodeKey(identityDhPublic(k))))
  return mine < theirs ? mine + theirs : theirs + mine
}

/** The number as people read it: twelve groups of five digits. */
export function formatSafetyNumber (digits: string): string {
  return digits.match(/.{1,5}/g)!.join(' ')
}

function compareBytes (a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i]! - b[i]!
  return a.length - b.length
}
