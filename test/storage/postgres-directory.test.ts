import { createServer, type AddressInfo } from 'node:net'
import { describe, expect, it } from 'vitest'
import { openPostgresDirectory, PostgresConnectError } from '../../storage/postgres/index.js'
import { applyMigrations } from '../../storage/postgres/migrate.js'
import { migrations } from '../../storage/postgres/migrations.js'
import { connectPool } from '../../storage/postgres/pool.js'
import { withTestPostgres } from '../helpers/postgres-databases.js'
import { directoryContract } from './directory.contract.js'

/** A loopback port nothing listens on. */
async function closedPort (): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

withTestPostgres('postgres directory', (databases, serverUrl) => {
  directoryContract('PostgreSQL', async () => {
    const url = await databases.create()
    const open = (): ReturnType<typeof openPostgresDirectory> => openPostgresDirectory(url)
    return { ...await open(), reopen: open }
  })

  describe('postgres directory: beyond the contract', () => {
    it('sorts ids in byte order whatever the database locale', async () => {
      const { directory, close } = await openPostgresDirectory(await databases.create())
      const devices = ['b', 'Z', '_x', 'a-1', 'a.1', 'A', '9']
      for (const device of devices) await directory.registerDevice('alice', device)
      expect(await directory.devicesOf('alice')).toEqual([...devices].sort())
      await close()
    })

    it('creates the user row when presence settings arrive before registration', async () => {
      const { directory, close } = await openPostgresDirectory(await databases.create())
      await directory.setLastSeen('zed', 7)
      await directory.setPresencePrivacy('yan', 2)
      expect(await directory.lastSeen('zed')).toBe(7)
      expect(await directory.presencePrivacy('zed')).toBe(0)
      expect(await directory.presencePrivacy('yan')).toBe(2)
      expect(await directory.lastSeen('yan')).toBeUndefined()
      expect(await directory.hasUser('zed')).toBe(true)
      await close()
    })

    it('finds a user another broker registered after this one was asked about it (only known users are remembered)', async () => {
      const url = await databases.create()
      const here = await openPostgresDirectory(url)
      const there = await openPostgresDirectory(url)
      expect(await here.directory.hasUser('newcomer')).toBe(false)
      await there.directory.registerUser('newcomer')
      expect(await here.directory.hasUser('newcomer')).toBe(true)
      await here.close()
      await there.close()
    })
  })

  describe('postgres schema migrations', () => {
    it('applies every migration once: opening again applies nothing', async () => {
      const url = await databases.create()
      const pool = await connectPool(url)
      try {
        expect(await applyMigrations(pool)).toEqual(migrations.map((m) => m.version))
        expect(await applyMigrations(pool)).toEqual([])
        const first = await openPostgresDirectory(url)
        await first.close()
        const second = await openPostgresDirectory(url)
        await second.close()
        const { rows } = await pool.query<{ version: number }>('SELECT version FROM lowband_schema_migrations ORDER BY version')
        expect(rows.map((row) => row.version)).toEqual(migrations.map((m) => m.version))
      } finally {
        await pool.end()
      }
    })

    it('lets two brokers starting at once migrate without racing', async () => {
      const url = await databases.create()
      const pools = await Promise.all([connectPool(url), connectPool(url)])
      try {
        const applied = await Promise.all(pools.map((pool) => applyMigrations(pool)))
        // The advisory lock makes one wait for the other, which then finds nothing pending.
        expect(applied.map((versions) => versions.length).sort()).toEqual([0, migrations.length])
      } finally {
        await Promise.all(pools.map((pool) => pool.end()))
      }
    })

    it('refuses a mis-numbered migration list before touching the database', async () => {
      const pool = await connectPool(await databases.create())
      try {
        await expect(applyMigrations(pool, [{ version: 2, name: 'gap', sql: 'SELECT 1' }])).rejects.toThrow(/versions must be 1, 2, 3/)
        expect((await pool.query("SELECT to_regclass('lowband_schema_migrations') AS t")).rows[0]).toEqual({ t: null })
      } finally {
        await pool.end()
      }
    })

    it('names the server when the database does not exist', async () => {
      const url = new URL(serverUrl)
      url.pathname = '/lb_test_missing'
      const error = await openPostgresDirectory(url.toString()).catch((e: unknown) => e)
      expect(error).toBeInstanceOf(PostgresConnectError)
      expect((error as Error).message).toContain(`${url.hostname}:${url.port}`)
      expect((error as Error).message).toContain('lb_test_missing')
    })
  })
})

describe('postgres connection errors', () => {
  it('rejects an unreachable server with one line naming host:port, never the password', async () => {
    const port = await closedPort()
    const error = await openPostgresDirectory(`postgres://lowband:s3cret-pw@127.0.0.1:${port}/lowband`).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(PostgresConnectError)
    const message = (error as Error).message
    expect(message).toContain(`127.0.0.1:${port}`)
    expect(message).not.toContain('s3cret-pw')
    expect(message).not.toContain('\n')
  })

  it('rejects a malformed URL without echoing it', async () => {
    const error = await openPostgresDirectory('postgres://lowband:s3cret-pw@db.example:port/lowband').catch((e: unknown) => e)
    expect(error).toBeInstanceOf(PostgresConnectError)
    expect((error as Error).message).not.toContain('s3cret-pw')
  })
})
