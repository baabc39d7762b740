import { SignJWT } from 'jose'
import { isValidId } from './ids.js'

/**
 * The device-token format both sides share: an HS256/EdDSA/RSA JWT whose `sub` is the user id,
 * with an `exp`, and optionally `dev` binding it to one device. The broker verifies it
 * (hooks/token-verifier.ts); `lowband token` and the CLI client mint development tokens with
 * {@link mintDeviceToken}. jose only: no Node built-ins, so a browser bundle may import it.
 */

/** The development secret's file in a data directory: 32 random bytes, hex, one line (mode 0600). */
export const DEV_SECRET_FILE = 'dev-jwt-secret'

/** The secret in a development-secret file's text; undefined when it is not hex. */
export function parseDevSecret (text: string): Uint8Array | undefined {
  const hex = text.trim()
  if (!/^(?:[0-9a-fA-F]{2})+$/.test(hex)) return undefined
  return Uint8Array.from(hex.match(/../g)!, (pair) => parseInt(pair, 16))
}

/** An HS256 secret given as text (`--jwt-secret`), as the bytes jose signs with. */
export function secretFromText (text: string): Uint8Array {
  return new TextEncoder().encode(text)
}

const TTL = /^\d+\s*(s|sec|secs|m|min|mins|h|hr|hrs|d|day|days|w|week|weeks)?$/

/** A bad argument to {@link mintDeviceToken}; `option` names what was wrong. */
export class TokenArgumentError extends Error {
  override name = 'TokenArgumentError'
}

/** Mints an HS256 device token: `sub` = userId, `dev` = deviceId when given, expiring after `ttl` (`3600`, `30m`, `1h`, `7d`). */
export async function mintDeviceToken (options: { userId: string, deviceId?: string | undefined, ttl: string, secret: Uint8Array }): Promise<string> {
  if (!isValidId(options.userId)) throw new TokenArgumentError(`invalid user id ${JSON.stringify(options.userId)}: 1-64 of A-Z a-z 0-9 _ . @ -`)
  if (options.deviceId !== undefined && !isValidId(options.deviceId)) throw new TokenArgumentError(`invalid --device ${JSON.stringify(options.deviceId)}`)
  if (!TTL.test(options.ttl)) throw new TokenArgumentError(`invalid --ttl ${JSON.stringify(options.ttl)}: use e.g. 3600, 30m, 1h, 7d`)
  const ttl = /^\d+$/.test(options.ttl) ? `${options.ttl}s` : options.ttl
  return new SignJWT(options.deviceId === undefined ? {} : { dev: options.deviceId })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(options.userId)
    .setIssuedAt()
    .setExpirationTime(ttl)
    .sign(options.secret)
}
