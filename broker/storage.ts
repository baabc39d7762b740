import type { Logger } from 'pino'
import type { Storage } from '../storage/contracts.js'
import { openEmbeddedStorage } from '../storage/embedded/index.js'
import { openPostgresDirectory, PostgresConnectError } from '../storage/postgres/index.js'
import { ConfigError } from './config-error.js'
import type { Config } from './config.js'

/**
 * The storage the configuration asks for: messages in the embedded store (data directory), and the
 * directory there too unless --postgres names a PostgreSQL server for it.
 */
export async function openStorage (config: Config, log: Logger): Promise<Storage> {
  const embedded = await openEmbeddedStorage(config.dataDir)
  if (config.postgres === undefined) return embedded
  let postgres: Awaited<ReturnType<typeof openPostgresDirectory>>
  try {
    postgres = await openPostgresDirectory(config.postgres, { onIdleClientError: (error) => log.warn({ err: error }, 'PostgreSQL connection lost') })
  } catch (error) {
    await embedded.close()
    if (error instanceof PostgresConnectError) throw new ConfigError(`--postgres (LOWBAND_POSTGRES_URL): ${error.message}`)
    throw error
  }
  log.info('directory in PostgreSQL')
  return {
    messages: embedded.messages,
    directory: postgres.directory,
    flush: () => embedded.flush(),
    async close () {
      await embedded.close()
      await postgres.close()
    }
  }
}
