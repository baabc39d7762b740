import type pg from 'pg'

/**
 * Runs `work` in one transaction on one pooled connection: committed when it resolves, rolled back
 * when it throws. The connection is discarded rather than reused if even the rollback failed.
 * `begin` opens the transaction: BEGIN, optionally followed by more statements without parameters
 * (`BEGIN; SELECT …`), sent with it in one round trip.
 */
export async function inTransaction<T> (pool: pg.Pool, work: (client: pg.PoolClient) => Promise<T>, begin = 'BEGIN'): Promise<T> {
  const client = await pool.connect()
  let broken: Error | undefined
  try {
    await client.query(begin)
    const result = await work(client)
    await client.query('COMMIT')
    return result
  } catch (error) {
    await client.query('ROLLBACK').catch((rollbackError: unknown) => {
      broken = rollbackError instanceof Error ? rollbackError : new Error(String(rollbackError))
    })
    throw error
  } finally {
    client.release(broken)
  }
}
