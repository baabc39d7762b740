import pg from 'pg'
import { inTransaction } from './transaction.js'

/** Work that runs inside a transaction it shares with others; it must leave the transaction usable. */
export type Job<T> = (client: pg.PoolClient) => Promise<T>

/**
 * Work of one kind that a transaction runs as one statement for every caller's item: `items` in
 * the callers' order, one result per item back in that order. It must leave the transaction usable.
 */
export interface BatchJob<I, R> {
  run (client: pg.PoolClient, items: readonly I[]): Promise<R[]>
}

/**
 * The counter rows a job will update: taken for the whole transaction first, in one order (all
 * conversations sorted, then all inboxes sorted), so transactions of several brokers that share
 * rows wait for each other instead of deadlocking. A row a job locks without declaring it is still
 * safe — PostgreSQL detects the deadlock and the job is retried — only slower.
 */
export interface JobLocks {
  conversations?: readonly string[]
  users?: readonly string[]
}

interface Pending {
  /** Every pending item with the same kind in one transaction goes to one `kind.run`. */
  kind: BatchJob<unknown, unknown>
  item: unknown
  locks: JobLocks
  resolve: (value: unknown) => void
  reject: (error: unknown) => void
}

/** What the committer asks before each transaction, and tells about a failed one (health.ts). */
export interface CommitGate {
  /** The error to refuse work with while the database is known to be unreachable, else undefined. */
  refusal (): Error | undefined
  /** A transaction failed: the gate classifies the error and returns what the callers get. */
  failed (error: unknown): unknown
}

/**
 * Most jobs a transaction takes. A plain job costs one round trip inside it, so a larger batch
 * holds its row locks longer for little more saving on the commit (one WAL flush however many).
 */
const MAX_JOBS_PER_COMMIT = 256

/**
 * Group commit for PostgreSQL, like embedded/committer.ts for LevelDB: the writes that arrive while
 * a transaction is running wait, and then go in the next one together — one BEGIN, one COMMIT and
 * one WAL flush for all of them, instead of one each. Each caller's promise resolves only once the
 * transaction holding its job has committed (invariant 1: ✓ means stored). One transaction runs at
 * a time per broker, so this broker's own writes never deadlock each other.
 *
 * Jobs of one kind (runBatched: the appends, the 1:1 delivered flushes) run as one statement for
 * the whole transaction.
 *
 * A failed shared transaction (a deadlock with another broker, a serialization failure, one job's
 * error) is retried job by job, each in its own transaction, so one job never fails the others.
 */
export class PostgresCommitter {
  readonly #pool: pg.Pool
  readonly #gate: CommitGate
  #queue: Pending[] = []
  #running: Promise<void> | undefined

  constructor (pool: pg.Pool, gate: CommitGate) {
    this.#pool = pool
    this.#gate = gate
  }

  run<T> (locks: JobLocks, job: Job<T>): Promise<T> {
    // A kind of its own, so it is never merged with another job.
    return this.runBatched({ run: async (client) => [await job(client)] }, locks, undefined)
  }

  /** `item` joins the other items of `kind` in the next transaction: one `kind.run` for them all. */
  runBatched<I, R> (kind: BatchJob<I, R>, locks: JobLocks, item: I): Promise<R> {
    const refusal = this.#gate.refusal()
    if (refusal !== undefined) return Promise.reject(refusal)
    return new Promise<R>((resolve, reject) => {
      this.#queue.push({ kind: kind as BatchJob<unknown, unknown>, item, locks, resolve: resolve as (value: unknown) => void, reject })
      this.#running ??= this.#drain()
    })
  }

  /** Resolves once everything queued so far has committed or failed. */
  async flush (): Promise<void> {
    while (this.#running !== undefined) await this.#running
  }

  async #drain (): Promise<void> {
    // Let the rest of this turn's writers join the first transaction.
    await new Promise<void>((resolve) => setImmediate(resolve))
    while (this.#queue.length > 0) {
      const batch = this.#queue.splice(0, MAX_JOBS_PER_COMMIT)
      const refusal = this.#gate.refusal()
      if (refusal !== undefined) {
        for (const p of batch) p.reject(refusal)
        continue
      }
      if (batch.length === 1) {
        await this.#alone(batch[0]!)
        continue
      }
      try {
        const results = await this.#transaction(batch)
        batch.forEach((p, i) => p.resolve(results[i]))
      } catch (error) {
        const outcome = this.#gate.failed(error)
        // The database is unreachable: retrying each job alone would only wait out each timeout.
        if (this.#gate.refusal() !== undefined) for (const p of batch) p.reject(outcome)
        else for (const p of batch) await this.#alone(p)
      }
    }
    this.#running = undefined
  }

  async #alone (p: Pending): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const refusal = this.#gate.refusal()
      if (refusal !== undefined) {
        p.reject(refusal)
        return
      }
      try {
        p.resolve((await this.#transaction([p]))[0])
        return
      } catch (error) {
        if (attempt < ATTEMPTS && isConflict(error)) continue
        p.reject(this.#gate.failed(error))
        return
      }
    }
  }

  /**
   * One transaction: the declared rows locked in order, then each kind of job in the order its
   * first job was queued, all of a kind's items in one call in their queued order.
   */
  #transaction (batch: readonly Pending[]): Promise<unknown[]> {
    const conversations = [...new Set(batch.flatMap((p) => p.locks.conversations ?? []))].sort()
    const users = [...new Set(batch.flatMap((p) => p.locks.users ?? []))].sort()
    const byKind = new Map<BatchJob<unknown, unknown>, number[]>()
    batch.forEach((p, i) => {
      const at = byKind.get(p.kind)
      if (at === undefined) byKind.set(p.kind, [i])
      else at.push(i)
    })
    // The locks go with BEGIN, in one round trip: as literals, since that string cannot take parameters.
    const begin = conversations.length > 0 || users.length > 0 ? `BEGIN; SELECT lowband_lock(${textArray(conversations)}, ${textArray(users)})` : 'BEGIN'
    return inTransaction(this.#pool, async (client) => {
      const values = new Array<unknown>(batch.length)
      for (const [kind, at] of byKind) {
        const results = await kind.run(client, at.map((i) => batch[i]!.item))
        if (results.length !== at.length) throw new Error(`a batch of ${at.length} jobs returned ${results.length} results`)
        at.forEach((i, n) => { values[i] = results[n] })
      }
      return values
    }, begin)
  }
}

/** A text[] literal for a statement without parameters. */
function textArray (values: readonly string[]): string {
  return `ARRAY[${values.map((v) => pg.escapeLiteral(v)).join(', ')}]::text[]`
}

/** Tries of a job alone after a deadlock or serialization failure with another broker's transaction. */
const ATTEMPTS = 3

/** 40P01 deadlock detected, 40001 serialization failure: the transaction may simply be run again. */
function isConflict (error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code
  return code === '40P01' || code === '40001'
}
