import type pg from 'pg'
import { migrations as schemaMigrations, type Migration } from './migrations.js'
import { inTransaction } from './transaction.js'

/**
 * Key of the transaction-level advisory lock that serialises migrations between brokers starting
 * at once ("lowb" in ASCII). Held until commit, so no broker sees a half-applied schema.
 */
const MIGRATION_LOCK_KEY = 0x6c6f7762

/**
 * Applies the migrations the database lacks, in order, in one transaction, and returns their
 * versions (empty when the schema was current). Versions the database has beyond `migrations` were
 * applied by a newer broker and are left alone.
 */
export async function applyMigrations (pool: pg.Pool, migrations: readonly Migration[] = schemaMigrations): Promise<number[]> {
  checkOrder(migrations)
  return await inTransaction(pool, async (client) => {
    await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK_KEY])
    // Created under the lock: two concurrent CREATE TABLE IF NOT EXISTS can still collide.
    await client.query(`
      CREATE TABLE IF NOT EXISTS lowband_schema_migrations (
        version integer PRIMARY KEY,
        name text NOT NULL,
        applied_at timestamptz NOT NULL DEFAULT now()
      )`)
    const { rows } = await client.query<{ version: number }>('SELECT version FROM lowband_schema_migrations')
    const applied = new Set(rows.map((row) => row.version))
    const pending = migrations.filter((m) => !applied.has(m.version))
    for (const migration of pending) {
      await client.query(migration.sql)
      await client.query('INSERT INTO lowband_schema_migrations (version, name) VALUES ($1, $2)', [migration.version, migration.name])
    }
    return pending.map((m) => m.version)
  })
}

/** A mis-numbered migration list is a programming error: fail before touching the database. */
function checkOrder (migrations: readonly Migration[]): void {
  migrations.forEach((migration, index) => {
    if (migration.version !== index + 1) throw new Error(`migration ${index + 1} has version ${migration.version}: versions must be 1, 2, 3, … in order`)
  })
}
