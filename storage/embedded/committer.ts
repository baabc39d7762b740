import type { AbstractBatchOperation } from 'abstract-level'
import type { ClassicLevel } from 'classic-level'

type Op = AbstractBatchOperation<ClassicLevel<string, Uint8Array>, string, Uint8Array>

/** What the committer asks before writing, and tells when a write failed (guard.ts). */
export interface WriteGate {
  readonly writable: boolean
  refusal (cause?: unknown): Error
  writeFailed (error: unknown): void
}

/** No gate: every batch is tried, each failure goes to its writers as it is (the benchmarks' baselines). */
const UNGUARDED: WriteGate = { writable: true, refusal: (cause) => cause as Error, writeFailed: () => {} }

interface Pending {
  ops: Op[]
  resolve: () => void
  reject: (error: unknown) => void
}

/**
 * Group commit: writes queued during one turn of the event loop go to disk as one synced batch, so
 * 200 concurrent senders cost one fsync, not 200. Each caller's promise resolves only after the
 * batch holding its writes is durable (invariant 1: ✓ means stored). After a failed batch nothing
 * more reaches LevelDB — not even what was queued behind it — until the gate opens again.
 */
export class Committer {
  readonly #db: ClassicLevel<string, Uint8Array>
  readonly #gate: WriteGate
  #queue: Pending[] = []
  #running: Promise<void> | undefined

  constructor (db: ClassicLevel<string, Uint8Array>, gate: WriteGate = UNGUARDED) {
    this.#db = db
    this.#gate = gate
  }

  write (ops: Op[]): Promise<void> {
    if (!this.#gate.writable) return Promise.reject(this.#gate.refusal())
    return new Promise((resolve, reject) => {
      this.#queue.push({ ops, resolve, reject })
      this.#running ??= this.#drain()
    })
  }

  /** Resolves once everything queued so far is on disk. */
  async flush (): Promise<void> {
    while (this.#running !== undefined) await this.#running
  }

  async #drain (): Promise<void> {
    // Let the rest of this turn's writers join the batch.
    await new Promise<void>((resolve) => setImmediate(resolve))
    while (this.#queue.length > 0) {
      const batch = this.#queue
      this.#queue = []
      if (!this.#gate.writable) {
        for (const p of batch) p.reject(this.#gate.refusal())
        continue
      }
      try {
        await this.#batch(batch.length === 1 ? batch[0]!.ops : batch.flatMap((p) => p.ops))
        for (const p of batch) p.resolve()
      } catch (error) {
        this.#gate.writeFailed(error)
        const refusal = this.#gate.writable ? error : this.#gate.refusal(error)
        for (const p of batch) p.reject(refusal)
      }
    }
    this.#running = undefined
  }

  /**
   * One synced LevelDB batch. While the database is open it goes straight to classic-level's
   * `_batch` (abstract-level's documented interface for implementations): every key here is
   * already a string and every value a Uint8Array, which is what the store's utf8/view encodings
   * would produce, and no hooks or write listeners are used. The public `batch()` would clone,
   * validate and re-encode each operation first — about half of the main thread's cost of a write
   * (docs/BENCH.md, profile). Anything but an open database takes the public path and its errors.
   */
  #batch (ops: Op[]): Promise<void> {
    const db = this.#db as ClassicLevel<string, Uint8Array> & { _batch?: (ops: Op[], options: { sync: boolean }) => Promise<void> }
    return db.status === 'open' && typeof db._batch === 'function' ? db._batch(ops, SYNC) : db.batch(ops, SYNC)
  }
}

const SYNC = { sync: true }
