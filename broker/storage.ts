import type { Logger } from 'pino'
import type { CassandraOptions } from '../storage/cassandra/connect.js'
import type { Storage, StorageHealth } from '../storage/contracts.js'
import { openEmbeddedStorage, StoreOpenError } from '../storage/embedded/index.js'
import { openPostgresStorage, PostgresConnectError } from '../storage/postgres/index.js'
import { ConfigError } from './config-error.js'
import type { Config } from './config.js'
import { inUseMessage, writePidFile } from './pid-file.js'

/**
 * The storage the configuration asks for: with --postgres, messages and the directory in
 * PostgreSQL (any number of brokers may share it); otherwise the embedded store in the data
 * directory. With --cassandra the messages move to Cassandra and the directory stays where it was.
 * A store that cannot be opened as it is — damaged, held by another process, or a server that
 * cannot be reached — is a one-line ConfigError (exit 2).
 */
export async function openStorage (config: Config, log: Logger): Promise<Storage> {
  const base = await openDirectoryStorage(config, log)
  if (config.cassandra === undefined || config.cassandraKeyspace === undefined) return base
  return await openCassandra({
    contactPoints: config.cassandra, keyspace: config.cassandraKeyspace, localDataCenter: config.cassandraDatacenter, consistency: config.cassandraConsistency
  }, base, log)
}

async function openDirectoryStorage (config: Config, log: Logger): Promise<Storage> {
  const onHealth = (health: StorageHealth): void => {
    if (health.ready) log.info('store ready: acknowledging again')
    else log.error({ reason: health.reason }, 'store not ready')
  }
  if (config.postgres !== undefined) return await openPostgres(config.postgres, log, onHealth)
  const embedded = await openEmbedded(config, onHealth)
  const removePidFile = await writePidFile(config.dataDir)
  return {
    ...embedded,
    async close () {
      await embedded.close()
      await removePidFile()
    }
  }
}

async function openPostgres (url: string, log: Logger, onHealth: (health: StorageHealth) => void): Promise<Storage> {
  try {
    const storage = await openPostgresStorage(url, { onHealth, onIdleClientError: (error) => log.warn({ err: error }, 'PostgreSQL connection lost') })
    log.info('messages and directory in PostgreSQL')
    return storage
  } catch (error) {
    if (error instanceof PostgresConnectError) throw new ConfigError(`--postgres (LOWBAND_POSTGRES_URL): ${error.message}`)
    throw error
  }
}

async function openEmbedded (config: Config, onHealth: (health: StorageHealth) => void): Promise<Storage> {
  try {
    return await openEmbeddedStorage(config.dataDir, { onHealth })
  } catch (error) {
    if (!(error instanceof StoreOpenError)) throw error
    throw new ConfigError(error.kind === 'inUse' ? await inUseMessage(config.dataDir) : error.message, { cause: error })
  }
}

/** The driver is loaded only when Cassandra is asked for. */
async function openCassandra (options: CassandraOptions, base: Storage, log: Logger): Promise<Storage> {
  try {
    const { openCassandraMessages } = await import('../storage/cassandra/index.js')
    const storage = await openCassandraMessages(base, options)
    log.info({ keyspace: options.keyspace, consistency: options.consistency }, 'messages in Cassandra')
    return storage
  } catch (error) {
    await base.close()
    const reason = error instanceof Error ? error.message : String(error)
    throw new ConfigError(`--cassandra (LOWBAND_CASSANDRA): cannot open the message store in keyspace ${options.keyspace}: ${reason}`, { cause: error })
  }
}
