/**
 * A bounded least-recently-used cache of values by key, for the embedded store's hot small reads.
 * `null` records a known absence. Map iteration order is insertion order, so re-inserting on use
 * keeps the oldest entry first, where eviction takes it.
 */
export class ReadCache {
  readonly #entries = new Map<string, Uint8Array | null>()
  readonly #capacity: number

  constructor (capacity: number) {
    this.#capacity = capacity
  }

  has (key: string): boolean {
    return this.#entries.has(key)
  }

  get (key: string): Uint8Array | null | undefined {
    const value = this.#entries.get(key)
    if (value !== undefined) {
      this.#entries.delete(key)
      this.#entries.set(key, value)
    }
    return value
  }

  set (key: string, value: Uint8Array | null): void {
    this.#entries.delete(key)
    this.#entries.set(key, value)
    if (this.#entries.size > this.#capacity) {
      const oldest = this.#entries.keys().next()
      if (oldest.done !== true) this.#entries.delete(oldest.value)
    }
  }
}
