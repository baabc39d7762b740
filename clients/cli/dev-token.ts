import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { DEV_SECRET_FILE, mintDeviceToken, parseDevSecret, secretFromText, TokenArgumentError } from '../../protocol/token.js'
import { UsageError } from './errors.js'

/** Device tokens are short-lived; a fresh one is minted for every connection attempt. */
const TTL = '1h'

export interface DevTokenSource {
  dataDir: string
  jwtSecret?: string | undefined
}

/**
 * The secret development tokens are signed with: `--jwt-secret`, or the development secret a
 * broker created in its data directory (`start` without a configured key).
 */
export async function devSigningSecret (source: DevTokenSource): Promise<Uint8Array> {
  if (source.jwtSecret !== undefined) return secretFromText(source.jwtSecret)
  const file = join(source.dataDir, DEV_SECRET_FILE)
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new UsageError(`no development secret in ${source.dataDir} (start the broker there once, or give --jwt-secret)`)
    if ((error as NodeJS.ErrnoException).code === 'ENOTDIR') throw new UsageError(`invalid --data-dir ${JSON.stringify(source.dataDir)}: a file, not a directory`)
    throw new UsageError(`cannot read ${file}: ${(error as Error).message}`)
  }
  const secret = parseDevSecret(text)
  if (secret === undefined) throw new UsageError(`${file} is not a development secret (hex); delete it and start the broker again`)
  return secret
}

/** Mints a development token; a bad id or lifetime is a usage error (exit 2). */
export async function mintDevToken (options: { userId: string, deviceId?: string | undefined, ttl: string } & DevTokenSource): Promise<string> {
  const secret = await devSigningSecret(options)
  try {
    return await mintDeviceToken({ userId: options.userId, deviceId: options.deviceId, ttl: options.ttl, secret })
  } catch (error) {
    if (error instanceof TokenArgumentError) throw new UsageError(error.message, { cause: error })
    throw error
  }
}

/**
 * A token function for the SDK, checked once up front so that a missing secret is a usage error
 * (exit 2) instead of a connection failure.
 */
export async function devTokenFunction (userId: string, deviceId: string, source: DevTokenSource): Promise<() => Promise<string>> {
  const mint = (): Promise<string> => mintDevToken({ userId, deviceId, ttl: TTL, ...source })
  await mint()
  return mint
}
