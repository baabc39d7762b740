import type pg from 'pg'
import { describe, expect, it } from 'vitest'
import { PostgresCommitter } from '../../storage/postgres/committer.js'
import { PostgresOutage } from '../../storage/postgres/health.js'
import { RetriableError } from '../../storage/retriable.js'

/** A recording stand-in for pg's Pool: every statement each connection is asked to run, in order. */
function recordingPool (fail?: (sql: string) => Error | undefined): { pool: pg.Pool, statements: string[], texts: string[] } {
  const statements: string[] = []
  const texts: string[] = []
  const client = {
    query: async (sql: string) => {
      statements.push(sql.split(/\s+/).slice(0, 2).join(' '))
      texts.push(sql)
      const error = fail?.(sql)
      if (error !== undefined) throw error
      return { rows: [], rowCount: 0 }
    },
    release: () => {}
  }
  return { pool: { connect: async () => client, query: client.query } as unknown as pg.Pool, statements, texts }
}

describe('postgres group commit', () => {
  it('runs concurrent jobs in one transaction, with their counter rows locked first in one order, sent with BEGIN', async () => {
    const { pool, statements, texts } = recordingPool()
    const committer = new PostgresCommitter(pool, new PostgresOutage(pool))
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) =>
      committer.run({ users: [`u${19 - i}`] }, async (client) => { await client.query(`SELECT job ${i}`); return i })))
    expect(results).toEqual(Array.from({ length: 20 }, (_, i) => i))
    expect(statements.filter((s) => s.startsWith('BEGIN'))).toHaveLength(1)
    expect(statements.filter((s) => s === 'COMMIT')).toHaveLength(1)
    // The locks come in the first round trip, before any job, sorted.
    const users = Array.from({ length: 20 }, (_, i) => `'u${i}'`).sort().join(', ')
    expect(texts[0]).toBe(`BEGIN; SELECT lowband_lock(ARRAY[]::text[], ARRAY[${users}]::text[])`)
    expect(texts[1]).toBe('SELECT job 0')
  })

  it('runs a transaction\'s jobs of one kind as one call, items in queued order, each result back to its caller', async () => {
    const { pool, statements } = recordingPool()
    const committer = new PostgresCommitter(pool, new PostgresOutage(pool))
    const calls: number[][] = []
    const double = { run: async (client: pg.PoolClient, items: readonly number[]) => { calls.push([...items]); await client.query('SELECT batch'); return items.map((n) => n * 2) } }
    const results = await Promise.all([
      committer.runBatched(double, {}, 1),
      committer.run({}, async (client) => { await client.query('SELECT plain'); return 'plain' }),
      committer.runBatched(double, {}, 2),
      committer.runBatched(double, {}, 3)
    ])
    expect(results).toEqual([2, 'plain', 4, 6])
    expect(calls).toEqual([[1, 2, 3]])
    expect(statements).toEqual(['BEGIN', 'SELECT batch', 'SELECT plain', 'COMMIT'])
  })

  it('retries each job alone when the shared transaction fails, so one bad job fails only itself', async () => {
    const { pool, statements } = recordingPool((sql) => sql === 'SELECT bad' ? Object.assign(new Error('division by zero'), { code: '22012' }) : undefined)
    const committer = new PostgresCommitter(pool, new PostgresOutage(pool))
    const [good, bad] = await Promise.allSettled([
      committer.run({}, async (client) => { await client.query('SELECT good'); return 'ok' }),
      committer.run({}, async (client) => { await client.query('SELECT bad') })
    ])
    expect(good).toEqual({ status: 'fulfilled', value: 'ok' })
    expect(bad.status === 'rejected' && bad.reason instanceof RetriableError).toBe(true)
    expect(statements.filter((s) => s === 'BEGIN')).toHaveLength(3)
  })

  it('refuses at once, without a transaction, while the database is unreachable', async () => {
    const { pool, statements } = recordingPool((sql) => sql === 'BEGIN' ? Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' }) : undefined)
    const outage = new PostgresOutage(pool, { probeDelayMs: { first: 60_000, max: 60_000 } })
    const committer = new PostgresCommitter(pool, outage)
    await expect(committer.run({}, async () => 1)).rejects.toBeInstanceOf(RetriableError)
    expect(outage.health()).toMatchObject({ ready: false })
    const begins = statements.length
    await expect(committer.run({}, async () => 1)).rejects.toThrow(/unreachable/)
    expect(statements.length).toBe(begins)
    outage.close()
  })
})
