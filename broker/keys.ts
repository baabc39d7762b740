import { createPublicKey, randomBytes, type KeyObject } from 'node:crypto'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { DEV_SECRET_FILE, parseDevSecret, secretFromText } from '../protocol/token.js'
import { ConfigError } from './config-error.js'

export interface VerificationKey {
  key: Uint8Array | KeyObject
  algorithms: string[]
  /** Where a development secret was created, to say so in the log. */
  createdDevSecret?: string
}

/** The key that verifies device tokens: a shared secret, a public key file, or the data directory's development secret. */
export async function loadVerificationKey (options: { jwtSecret?: string | undefined, jwtPublicKey?: string | undefined, dataDir: string }): Promise<VerificationKey> {
  if (options.jwtSecret !== undefined) return { key: secretFromText(options.jwtSecret), algorithms: ['HS256'] }
  if (options.jwtPublicKey !== undefined) return loadPublicKey(options.jwtPublicKey)
  const { secret, created } = await devSecret(options.dataDir)
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
async function devSecret (dataDir: string): Promise<{ secret: Uint8Array, created: boolean }> {
  const file = join(dataDir, DEV_SECRET_FILE)
  try {
    const secret = parseDevSecret(await readFile(file, 'utf8'))
    if (secret === undefined) throw new ConfigError(`${file} is not a development secret (hex): restore it, or delete it to have a new one made (tokens minted with the old one stop working)`)
    return { secret, created: false }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
  }
  await mkdir(dataDir, { recursive: true })
  const secret = randomBytes(32)
  try {
    await writeFile(file, secret.toString('hex') + '\n', { mode: 0o600, flag: 'wx' })
    return { secret, created: true }
  } catch (error) {
    // Another process created it first: use theirs.
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return devSecret(dataDir)
    throw error
  }
}
