import { createPublicKey, randomBytes, type KeyObject } from 'node:crypto'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { ConfigError } from './config-error.js'

export const DEV_SECRET_FILE = 'dev-jwt-secret'

export interface VerificationKey {
  key: Uint8Array | KeyObject
  algorithms: string[]
  /** Where a development secret was created, to say so in the log. */
  createdDevSecret?: string
}

/** The key that verifies device tokens: a shared secret, a public key file, or the data directory's development secret. */
export async function loadVerificationKey (options: { jwtSecret?: string | undefined, jwtPublicKey?: string | undefined, dataDir: string }): Promise<VerificationKey> {
  if (options.jwtSecret !== undefined) return { key: new TextEncoder().encode(options.jwtSecret), algorithms: ['HS256'] }
  if (options.jwtPublicKey !== undefined) return loadPublicKey(options.jwtPublicKey)
  const { secret, created } = await devSecret(options.dataDir, true)
  return { key: secret, algorithms: ['HS256'], ...(created ? { createdDevSecret: join(options.dataDir, DEV_SECRET_FILE) } : {}) }
}

async function loadPublicKey (file: string): Promise<VerificationKey> {
  let key: KeyObject
  try {
    key = createPublicKey(await readFile(file))
  } catch (error) {
    throw new ConfigError(`--jwt-public-key (LOWBAND_JWT_PUBLIC_KEY): cannot read a PEM public key from ${file}: ${(error as Error).message}`)
  }
  switch (key.asymmetricKeyType) {
    case 'ed25519': return { key, algorithms: ['EdDSA', 'Ed25519'] }
    case 'rsa': return { key, algorithms: ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512'] }
    default: throw new ConfigError(`--jwt-public-key (LOWBAND_JWT_PUBLIC_KEY): unsupported key type ${key.asymmetricKeyType ?? 'unknown'}; use Ed25519 or RSA`)
  }
}

/**
 * The development secret: 32 random bytes in `<dataDir>/dev-jwt-secret` (mode 0600), created by
 * `start` when no key is configured and read by `lowband token --data-dir` to mint tokens.
 */
export async function devSecret (dataDir: string, create: boolean): Promise<{ secret: Uint8Array, created: boolean }> {
  const file = join(dataDir, DEV_SECRET_FILE)
  try {
    return { secret: Buffer.from((await readFile(file, 'utf8')).trim(), 'hex'), created: false }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
    if (!create) throw new ConfigError(`no development secret in ${dataDir} (start the broker there once, or give --jwt-secret)`)
  }
  await mkdir(dataDir, { recursive: true })
  const secret = randomBytes(32)
  try {
    await writeFile(file, secret.toString('hex') + '\n', { mode: 0o600, flag: 'wx' })
    return { secret, created: true }
  } catch (error) {
    // Another process created it first: use theirs.
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return devSecret(dataDir, false)
    throw error
  }
}
