import type { Directory, Storage } from '../contracts.js'
import { guarded } from '../guarded.js'
import { createMessageIdGenerator } from '../message-id.js'
import { PostgresCommitter } from './committer.js'
import { PostgresDirectory } from './directory.js'
import { PostgresOutage, type OutageOptions } from './health.js'
import { PostgresMessageStore } from './messages.js'
import { applyMigrations } from './migrate.js'
import { connectPool, describeTarget, type PoolOptions } from './pool.js'

export { PostgresConnectError } from './pool.js'
export type { PoolOptions } from './pool.js'

/**
 * The directory in PostgreSQL at `url` (postgres://user:password@host:port/database): connects,
 * brings the schema up to date, and returns it with a `close` that ends the pool. Rejects with a
 * PostgresConnectError naming host:port (never the password) when the server cannot be reached.
 */
export async function openPostgresDirectory (url: string, options: PoolOptions = {}): Promise<{ directory: Directory, close (): Promise<void> }> {
  const pool = await openMigrated(url, options)
  return {
    directory: new PostgresDirectory(pool),
    close: () => pool.end()
  }
}

/**
 * Messages and the directory in PostgreSQL at `url`, for any number of brokers sharing it. Not
 * ready while the server is unreachable: writes are refused with a RetriableError until a probe
 * reconnects (health.ts). close() writes the delivery state not yet flushed, then ends the pool.
 */
export async function openPostgresStorage (url: string, options: PoolOptions & OutageOptions = {}): Promise<Storage> {
  const pool = await openMigrated(url, options)
  const outage = new PostgresOutage(pool, options)
  const committer = new PostgresCommitter(pool, outage)
  const messages = new PostgresMessageStore(pool, committer, createMessageIdGenerator())
  const classify = (error: unknown): unknown => outage.failed(error)
  return {
    messages: guarded(messages, classify),
    directory: guarded(new PostgresDirectory(pool), classify),
    flush: () => committer.flush(),
    health: () => outage.health(),
    async close () {
      try {
        await messages.flushAllDelivered(Math.floor(Date.now() / 1000))
        await messages.flushDeviceCursors()
      } catch {
        // Unreachable: what was not written is recovered from resuming devices (deliveries.ts).
      } finally {
        await committer.flush()
        outage.close()
        await pool.end()
      }
    }
  }
}

async function openMigrated (url: string, options: PoolOptions): ReturnType<typeof connectPool> {
  const pool = await connectPool(url, options)
  try {
    await applyMigrations(pool)
  } catch (error) {
    await pool.end()
    const reason = error instanceof Error ? error.message : String(error)
    throw new Error(`cannot bring the PostgreSQL schema at ${describeTarget(url)} up to date: ${reason}`, { cause: error })
  }
  return pool
}
