import type { Logger } from 'pino'
import type { Storage, StorageHealth } from '../storage/contracts.js'
import { openEmbeddedStorage, StoreOpenError } from '../storage/embedded/index.js'
import { openPostgresDirectory, PostgresConnectError } from '../storage/postgres/index.js'
import { ConfigError } from './config-error.js'
import type { Config } from './config.js'
import { inUseMessage, writePidFile } from './pid-file.js'

/**
 * The storage the configuration asks for: messages in the embedded store (data directory), and the
 * directory there too unless --postgres names a PostgreSQL server for it. A store that cannot be
 * opened as it is — damaged, or held by another process — is a one-line ConfigError (exit 2).
 */
export async function openStorage (config: Config, log: Logger): Promise<Storage> {
  const embedded = await openEmbedded(config, log)
  const removePidFile = await writePidFile(config.dataDir)
  const closeEmbedded = async (): Promise<void> => {
    await embedded.close()
    await removePidFile()
  }
  if (config.postgres === undefined) return { ...embedded, close: closeEmbedded }
  let postgres: Awaited<ReturnType<typeof openPostgresDirectory>>
  try {
    postgres = await openPostgresDirectory(config.postgres, { onIdleClientError: (error) => log.warn({ err: error }, 'PostgreSQL connection lost') })
  } catch (error) {
    await closeEmbedded()
    if (error instanceof PostgresConnectError) throw new ConfigError(`--postgres (LOWBAND_POSTGRES_URL): ${error.message}`)
    throw error
  }
  log.info('directory in PostgreSQL')
  return {
    messages: embedded.messages,
    directory: postgres.directory,
    flush: () => embedded.flush(),
    health: () => embedded.health(),
    async close () {
      await closeEmbedded()
      await postgres.close()
    }
  }
}

async function openEmbedded (config: Config, log: Logger): Promise<Storage> {
  const onHealth = (health: StorageHealth): void => {
    if (health.ready) log.info('store reopened: acknowledging again')
    else log.error({ reason: health.reason }, 'store not ready')
  }
  try {
    return await openEmbeddedStorage(config.dataDir, { onHealth })
  } catch (error) {
    if (!(error instanceof StoreOpenError)) throw error
    throw new ConfigError(error.kind === 'inUse' ? await inUseMessage(config.dataDir) : error.message, { cause: error })
  }
}
