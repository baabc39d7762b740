import { LRUCache } from 'lru-cache'
import { ownedBytes } from './owned-bytes.js'

/** Stands for a known absence: lru-cache holds no null. */
const ABSENT = new Uint8Array(0)

/**
 * A bounded least-recently-used cache of values by key, for the embedded store's hot small reads;
 * `null` records a known absence. lru-cache keeps its order in typed arrays: a hit or an eviction
 * costs a few array writes. (A Map re-inserted on every hit, as this was, slowed down as it filled:
 * V8 skips the deleted entries one by one to find the oldest, up to ~80 µs per message at 100 000.)
 */
export class ReadCache {
  readonly #entries: LRUCache<string, Uint8Array>

  constructor (capacity: number) {
    this.#entries = new LRUCache({ max: capacity })
  }

  get (key: string): Uint8Array | null | undefined {
    const value = this.#entries.get(key)
    return value === ABSENT ? null : value
  }

  set (key: string, value: Uint8Array | null): void {
    // Values written are views into the record encoder's target (storage/embedded/owned-bytes.ts).
    this.#entries.set(key, value === null ? ABSENT : ownedBytes(value))
  }

  clear (): void {
    this.#entries.clear()
  }
}
