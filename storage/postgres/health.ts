import type pg from 'pg'
import { LowbandError } from '../../protocol/errors.js'
import type { StorageHealth } from '../contracts.js'
import { RetriableError } from '../retriable.js'
import type { CommitGate } from './committer.js'
import { messageOf } from './pool.js'

export interface OutageOptions {
  /** Told when the database becomes unreachable and when it is back: once per outage each. */
  onHealth?: (health: StorageHealth) => void
  /** First and longest wait between reconnection probes, ms (default 100 and 5000; doubled each time, with jitter). */
  probeDelayMs?: { first: number, max: number }
}

const DEFAULT_PROBE_DELAY_MS = { first: 100, max: 5_000 }

/**
 * Whether PostgreSQL can take writes now. A connection failure (the server down, restarting, cut
 * off) makes the store not ready: writes are refused at once with a RetriableError — the publish
 * hook closes the connection without PUBACK and the device resends later — instead of each waiting
 * out a connection timeout. A probe reconnects with backoff and makes it ready again. The pool
 * itself replaces broken connections; nothing needs reopening.
 */
export class PostgresOutage implements CommitGate {
  readonly #pool: pg.Pool
  readonly #onHealth: (health: StorageHealth) => void
  readonly #delay: { first: number, max: number }
  #down: { reason: string } | undefined
  #probe: ReturnType<typeof setTimeout> | undefined
  #closed = false

  constructor (pool: pg.Pool, options: OutageOptions = {}) {
    this.#pool = pool
    this.#onHealth = options.onHealth ?? (() => {})
    this.#delay = options.probeDelayMs ?? DEFAULT_PROBE_DELAY_MS
  }

  health (): StorageHealth {
    return this.#down === undefined ? { ready: true } : { ready: false, reason: this.#down.reason }
  }

  refusal (): Error | undefined {
    return this.#down === undefined ? undefined : new RetriableError(this.#down.reason)
  }

  /**
   * What a failed query becomes: a coded error passes as it is; anything else is retriable (the
   * client resends), and a connection failure starts an outage.
   */
  failed (error: unknown): unknown {
    if (error instanceof LowbandError || error instanceof RetriableError) return error
    const reason = messageOf(error)
    if (isRefusedValue(error)) return new LowbandError('STORE_REFUSED', `PostgreSQL: ${reason}`, { cause: error })
    if (isConnectionFailure(error)) {
      this.#start(`PostgreSQL unreachable: ${reason}`)
      return new RetriableError(this.#down!.reason, { cause: error })
    }
    return new RetriableError(`PostgreSQL: ${reason}`, { cause: error })
  }

  close (): void {
    this.#closed = true
    clearTimeout(this.#probe)
  }

  #start (reason: string): void {
    if (this.#down !== undefined || this.#closed) return
    this.#down = { reason }
    this.#onHealth(this.health())
    this.#schedule(this.#delay.first)
  }

  #schedule (delay: number): void {
    if (this.#closed) return
    // Jitter: brokers that lost the database together do not all come back at the same instant.
    const wait = delay / 2 + Math.random() * delay / 2
    this.#probe = setTimeout(() => {
      this.#pool.query('SELECT 1').then(() => {
        if (this.#closed) return
        this.#down = undefined
        this.#onHealth(this.health())
      }, () => this.#schedule(Math.min(delay * 2, this.#delay.max)))
    }, wait)
    this.#probe.unref()
  }
}

/**
 * SQLSTATEs that refuse a value for what it is — 22001 string_data_right_truncation, 22003
 * numeric_value_out_of_range, 22021 character_not_in_repertoire (NUL in text), 22P05
 * untranslatable_character, 54000 program_limit_exceeded (an index entry past 2704 bytes, an
 * array past its limit) — so the same write fails the same way every time. Taken as retriable, the
 * device would resend it forever (a poison message); it is a permanent, coded refusal instead.
 */
const REFUSED_VALUE = new Set(['22001', '22003', '22021', '22P05', '54000'])

export function isRefusedValue (error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code
  return typeof code === 'string' && REFUSED_VALUE.has(code)
}

/**
 * SQLSTATE classes that mean "this connection or server cannot serve now": 08 connection
 * exceptions, 57P01-57P03 shutdown and startup, 53 insufficient resources (too many connections).
 * Without a SQLSTATE: a socket error (ECONNREFUSED, ECONNRESET, ETIMEDOUT, …) or the pool's and
 * client's own ("Connection terminated unexpectedly", "timeout exceeded when trying to connect").
 */
export function isConnectionFailure (error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code
  if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) return code.startsWith('08') || code.startsWith('53') || /^57P0[1-3]$/.test(code)
  if (typeof code === 'string' && code.startsWith('E')) return true
  if (error instanceof AggregateError) return error.errors.some(isConnectionFailure)
  return /connect|terminated|not queryable/i.test(messageOf(error))
}
