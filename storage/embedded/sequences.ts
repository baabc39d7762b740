import type { ClassicLevel } from 'classic-level'
import { firstKeyOf, seqOfKey } from './keys.js'

type Range = { gt: string, lt: string }

/**
 * Gap-free counters (inbox seqs, conversation cseqs) kept in memory and recovered from the last key
 * of their range on first use. `ensure` is async; `take` is synchronous, so appends that ensure
 * first and then take never share a number.
 */
export class Sequences {
  readonly #db: ClassicLevel<string, Uint8Array>
  /** Every sequence on disk runs 1, 2, 3, … (verify.ts); false for a store LevelDB's repair rebuilt. */
  readonly #gapFree: boolean
  readonly #heads = new Map<string, number>()
  readonly #loading = new Map<string, Promise<void>>()

  constructor (db: ClassicLevel<string, Uint8Array>, gapFree: boolean) {
    this.#db = db
    this.#gapFree = gapFree
  }

  ensure (name: string, range: Range): Promise<void> {
    return this.#heads.has(name) || this.#knownEmpty(name, range) ? Promise.resolve() : this.#loadOnce(name, range)
  }

  /**
   * ensure() for several counters, `rangeOf(i)` giving the range of `names[i]`; undefined when every
   * one is loaded already or found empty — the steady state of a chat and the first message of a new
   * conversation, where this saves each append a Promise.all, its promises and an await
   * (allocation per message, docs/BENCH.md).
   */
  ensureAll (names: readonly string[], rangeOf: (index: number) => Range): Promise<unknown> | undefined {
    let loading: Array<Promise<void>> | undefined
    for (let i = 0; i < names.length; i++) {
      const name = names[i]!
      if (this.#heads.has(name)) continue
      const range = rangeOf(i)
      if (!this.#knownEmpty(name, range)) (loading ??= []).push(this.#loadOnce(name, range))
    }
    return loading === undefined ? undefined : Promise.all(loading)
  }

  head (name: string): number {
    return this.#heads.get(name) ?? 0
  }

  take (name: string): number {
    const next = this.head(name) + 1
    this.#heads.set(name, next)
    return next
  }

  /** After a failed write: forget what was handed out, reload from disk next time. */
  forget (name: string): void {
    this.#heads.delete(name)
  }

  /** After a reopen: every counter is read from disk again. */
  forgetAll (): void {
    this.#heads.clear()
  }

  /**
   * A gap-free sequence without its entry 1 is empty: one synchronous point read (a few µs, like the
   * dedup check every append makes) instead of an iterator's trip through the store's 4-thread pool.
   * A thousand conversations opened at once queued two such trips each ahead of the synced writes
   * every PUBACK waits for (docs/BENCH.md, issue 14: the cold start).
   */
  #knownEmpty (name: string, range: Range): boolean {
    if (!this.#gapFree || this.#db.getSync(firstKeyOf(range)) !== undefined) return false
    this.#heads.set(name, 0)
    return true
  }

  #loadOnce (name: string, range: Range): Promise<void> {
    let loading = this.#loading.get(name)
    if (loading === undefined) {
      loading = this.#load(range)
        .then((head) => { if (!this.#heads.has(name)) this.#heads.set(name, head) })
        .finally(() => this.#loading.delete(name))
      this.#loading.set(name, loading)
    }
    return loading
  }

  /** The last key of the range: one trip through the store's thread pool (all() reads it in one nextv). */
  async #load (range: Range): Promise<number> {
    const [last] = await this.#db.keys({ ...range, reverse: true, limit: 1 }).all()
    return last === undefined ? 0 : seqOfKey(last)
  }
}
