import { jwtVerify, type JWTVerifyGetKey } from 'jose'
import type { KeyObject } from 'node:crypto'

/** Checks a token and returns the user id it was issued to (`sub`), and a device if it names one. */
export interface TokenVerifier {
  verify (token: string): Promise<{ userId: string, deviceId?: string }>
}

export function createTokenVerifier (key: Uint8Array | KeyObject | JWTVerifyGetKey, algorithms: string[]): TokenVerifier {
  return {
    async verify (token) {
      const { payload } = await jwtVerify(token, key as Uint8Array, { algorithms, requiredClaims: ['sub', 'exp'] })
      const deviceId = typeof payload.dev === 'string' ? payload.dev : undefined
      return { userId: payload.sub as string, ...(deviceId === undefined ? {} : { deviceId }) }
    }
  }
}
