import { jwtVerify, type JWTVerifyGetKey } from 'jose'
import { webcrypto, type KeyObject } from 'node:crypto'

/** Checks a token and returns the user id it was issued to (`sub`), and a device if it names one. */
export interface TokenVerifier {
  verify (token: string): Promise<{ userId: string, deviceId?: string }>
}

export function createTokenVerifier (key: Uint8Array | KeyObject | JWTVerifyGetKey, algorithms: string[]): TokenVerifier {
  const verifyKey = key instanceof Uint8Array ? importedOnce(key) : key
  return {
    async verify (token) {
      const { payload } = await jwtVerify(token, verifyKey as KeyObject, { algorithms, requiredClaims: ['sub', 'exp'] })
      const deviceId = typeof payload.dev === 'string' ? payload.dev : undefined
      return { userId: payload.sub as string, ...(deviceId === undefined ? {} : { deviceId }) }
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
