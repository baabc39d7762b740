import { SignJWT } from 'jose'
import { isValidId } from '../protocol/ids.js'
import { ConfigError } from './config-error.js'
import { devSecret } from './keys.js'

const TTL = /^\d+\s*(s|sec|secs|m|min|mins|h|hr|hrs|d|day|days|w|week|weeks)?$/

/** Mints a device token (HS256) with the configured secret or the data directory's development secret. */
export async function mintToken (options: { userId: string, deviceId?: string | undefined, ttl: string, jwtSecret?: string | undefined, dataDir: string }): Promise<string> {
  if (!isValidId(options.userId)) throw new ConfigError(`invalid user id ${JSON.stringify(options.userId)}: 1-64 of A-Z a-z 0-9 _ . @ -`)
  if (options.deviceId !== undefined && !isValidId(options.deviceId)) throw new ConfigError(`invalid --device ${JSON.stringify(options.deviceId)}`)
  if (!TTL.test(options.ttl)) throw new ConfigError(`invalid --ttl ${JSON.stringify(options.ttl)}: use e.g. 3600, 30m, 1h, 7d`)
  const secret = options.jwtSecret !== undefined
    ? new TextEncoder().encode(options.jwtSecret)
    : (await devSecret(options.dataDir, false)).secret
  const ttl = /^\d+$/.test(options.ttl) ? `${options.ttl}s` : options.ttl
  const jwt = new SignJWT(options.deviceId === undefined ? {} : { dev: options.deviceId })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(options.userId)
    .setIssuedAt()
    .setExpirationTime(ttl)
  return jwt.sign(secret)
}
