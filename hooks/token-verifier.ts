import { jwtVerify, type JWTVerifyGetKey } from 'jose'
import { LRUCache } from 'lru-cache'
import { webcrypto, type KeyObject } from 'node:crypto'

/** What a token says: the user it was issued to (`sub`), and a device if it names one. */
export interface TokenClaims {
  userId: string
  deviceId?: string
}

/** Checks a token and returns the user id it was issued to (`sub`), and a device if it names one. */
export interface TokenVerifier {
  verify (token: string): Promise<TokenClaims>
}

/**
 * Tokens verified recently, kept until they expire: a phone on a weak link reconnects often, with
 * the token it used last time. A cache hit skips jose's signature check: WebCrypto's, ~0.2 ms of the
 * event loop and a job on libuv's pool, where it waits behind the store's synced writes under load.
 * The key is the process's for its life (broker/keys.ts: a secret or a public key file, never
 * fetched), so a token that verified once verifies again until its `exp`, which every hit checks;
 * a token refused is never kept. 4096 tokens of ~200 bytes: ~1 MiB at most.
 */
const REMEMBERED_TOKENS = 4096

interface Verified {
  claims: TokenClaims
  /** The token's `exp`, seconds since the epoch. */
  exp: number
}

export function createTokenVerifier (key: Uint8Array | KeyObject | JWTVerifyGetKey, algorithms: string[], now: () => number = Date.now): TokenVerifier {
  const verifyKey = key instanceof Uint8Array ? importedOnce(key) : key
  const verified = new LRUCache<string, Verified>({ max: REMEMBERED_TOKENS })
  return {
    async verify (token) {
      const hit = verified.get(token)
      // jose's test with no clock tolerance: expired once the current second reaches `exp`.
      if (hit !== undefined && Math.floor(now() / 1000) < hit.exp) return hit.claims
      verified.delete(token)
      const { payload } = await jwtVerify(token, verifyKey as KeyObject, { algorithms, requiredClaims: ['sub', 'exp'], currentDate: new Date(now()) })
      const deviceId = typeof payload.dev === 'string' ? payload.dev : undefined
      const claims: TokenClaims = { userId: payload.sub as string, ...(deviceId === undefined ? {} : { deviceId }) }
      verified.set(token, { claims, exp: payload.exp as number })
      return claims
    }
  }
}

/**
 * jose imports a raw HMAC secret into WebCrypto again on every verify, one key import (and ~10 KiB
 * of garbage) per connecting device; a CryptoKey it uses as it is. jose checks the token's `alg`
 * against the allowed algorithms before asking for the key, so only HS256/384/512 arrive here.
 */
function importedOnce (secret: Uint8Array): JWTVerifyGetKey {
  const keys = new Map<string, Promise<webcrypto.CryptoKey>>()
  return ({ alg }) => {
    let imported = keys.get(alg)
    if (imported === undefined) {
      imported = webcrypto.subtle.importKey('raw', secret, { name: 'HMAC', hash: `SHA-${alg.slice(2)}` }, false, ['verify'])
      keys.set(alg, imported)
    }
    return imported
  }
}
