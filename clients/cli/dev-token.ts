// The one place the client CLI reaches into the broker's code: minting a development token from
// a data directory's secret, as `lowband token` does. The SDK itself never imports broker code.
import { mintToken } from '../../broker/token.js'
import { UsageError } from './errors.js'

/** Device tokens are short-lived; a fresh one is minted for every connection attempt. */
const TTL = '1h'

export interface DevTokenSource {
  dataDir: string
  jwtSecret?: string | undefined
}

/**
 * A token function for the SDK, checked once up front so that a missing secret is a usage error
 * (exit 2) instead of a connection failure.
 */
export async function devTokenFunction (userId: string, deviceId: string, source: DevTokenSource): Promise<() => Promise<string>> {
  const mint = async (): Promise<string> => {
    try {
      return await mintToken({ userId, deviceId, ttl: TTL, jwtSecret: source.jwtSecret, dataDir: source.dataDir })
    } catch (error) {
      // broker/token.ts reports operator mistakes as ConfigError; here they are usage errors.
      if (error instanceof Error && error.name === 'ConfigError') throw new UsageError(error.message, { cause: error })
      throw error
    }
  }
  await mint()
  return mint
}
