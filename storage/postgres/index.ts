import type { Directory } from '../contracts.js'
import { PostgresDirectory } from './directory.js'
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
  const pool = await connectPool(url, options)
  try {
    await applyMigrations(pool)
  } catch (error) {
    await pool.end()
    const reason = error instanceof Error ? error.message : String(error)
    throw new Error(`cannot bring the PostgreSQL schema at ${describeTarget(url)} up to date: ${reason}`, { cause: error })
  }
  return {
    directory: new PostgresDirectory(pool),
    close: () => pool.end()
  }
}
