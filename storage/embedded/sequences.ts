import type { ClassicLevel } from 'classic-level'
import { seqOfKey } from './keys.js'

/**
 * Gap-free counters (inbox seqs, conversation cseqs) kept in memory and recovered from the last key
 * of their range on first use. `ensure` is async; `take` is synchronous, so appends that ensure
 * first and then take never share a number.
 */
export class Sequences {
  readonly #db: ClassicLevel<string, Uint8Array>
  readonly #heads = new Map<string, number>()
  readonly #loading = new Map<string, Promise<void>>()

  constructor (db: ClassicLevel<string, Uint8Array>) {
    this.#db = db
  }

  ensure (name: string, range: { gt: string, lt: string }): Promise<void> {
    if (this.#heads.has(name)) return Promise.resolve()
    let loading = this.#loading.get(name)
    if (loading === undefined) {
      loading = this.#load(range)
        .then((head) => { if (!this.#heads.has(name)) this.#heads.set(name, head) })
        .finally(() => this.#loading.delete(name))
      this.#loading.set(name, loading)
    }
    return loading
  }

  /**
   * ensure() for several counters, `rangeOf(i)` giving the range of `names[i]`; undefined when every
   * one is loaded already — the steady state of a chat, where this saves each append a Promise.all,
   * its promises and the range strings (allocation per message, docs/BENCH.md).
   */
  ensureAll (names: readonly string[], rangeOf: (index: number) => { gt: string, lt: string }): Promise<unknown> | undefined {
    let loading: Array<Promise<void>> | undefined
    for (let i = 0; i < names.length; i++) {
      if (!this.#heads.has(names[i]!)) (loading ??= []).push(this.ensure(names[i]!, rangeOf(i)))
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

  async #load (range: { gt: string, lt: string }): Promise<number> {
    for await (const key of this.#db.keys({ ...range, reverse: true, limit: 1 })) return seqOfKey(key)
    return 0
  }
}
