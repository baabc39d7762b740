import pg from 'pg'

/** PostgreSQL could not be reached or refused us: printed by the broker as one line. */
export class PostgresConnectError extends Error {
  override name = 'PostgresConnectError'
}

export interface PoolOptions {
  /**
   * Called when an idle pooled connection fails (server restart, network cut). The pool has already
   * dropped it and the next query reconnects, so this is for logging only. Default: ignore.
   */
  onIdleClientError?: (error: Error) => void
}

/**
 * Milliseconds to wait for a connection (a new one, or a free one from a busy pool) before the
 * query fails, instead of pg's default of waiting forever on a silent host.
 */
const CONNECT_TIMEOUT_MS = 10_000

/**
 * `host:port` of a PostgreSQL URL, for messages: never the user or password. A socket directory
 * given as `?host=/run/postgresql` counts as the host.
 */
export function describeTarget (url: string): string {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    // Echoing a malformed URL could print a password, so say only what is wrong.
    throw new PostgresConnectError('PostgreSQL URL is not a valid URL (expected postgres://user:password@host:port/database)')
  }
  const host = parsed.hostname !== '' ? parsed.hostname : parsed.searchParams.get('host') ?? 'localhost'
  const port = parsed.port !== '' ? parsed.port : parsed.searchParams.get('port') ?? '5432'
  return `${host}:${port}`
}

/** A pool for `url` whose first connection is already proven, so a bad URL fails at start-up. */
export async function connectPool (url: string, options: PoolOptions = {}): Promise<pg.Pool> {
  const target = describeTarget(url)
  const pool = new pg.Pool({ connectionString: url, connectionTimeoutMillis: CONNECT_TIMEOUT_MS, application_name: 'lowband' })
  // Without a listener an idle connection's error would be thrown and end the process.
  pool.on('error', options.onIdleClientError ?? (() => {}))
  try {
    // The proven connection goes back to the pool and serves the migrations next.
    const client = await pool.connect()
    client.release()
  } catch (error) {
    await pool.end().catch(() => {})
    throw new PostgresConnectError(`cannot connect to PostgreSQL at ${target}: ${redact(messageOf(error), url)}`, { cause: error })
  }
  return pool
}

export function messageOf (error: unknown): string {
  // Node tries each address of a name in turn (IPv6 and IPv4 for localhost) and reports an
  // AggregateError with an empty message when all fail: the reasons are inside.
  if (error instanceof AggregateError && error.message === '') return error.errors.map(messageOf).join('; ')
  return error instanceof Error && error.message !== '' ? error.message : String(error)
}

/** Drivers sometimes quote the connection string back; keep its password out of logs. */
function redact (message: string, url: string): string {
  let password = ''
  try {
    password = decodeURIComponent(new URL(url).password)
  } catch {
    return message
  }
  return password === '' ? message : message.split(password).join('***')
}
