/**
 * The ids of the last `capacity` messages delivered: a second guard against duplicates, after the
 * cursor. A Map keeps insertion order, so the oldest id is the first key.
 */
export class RecentIds {
  readonly #capacity: number
  readonly #ids = new Map<string, true>()

  constructor (capacity: number) {
    this.#capacity = capacity
  }

  /** Records `id`; false when it was already among the recent ones. */
  add (id: string): boolean {
    if (this.#ids.has(id)) return false
    this.#ids.set(id, true)
    if (this.#ids.size > this.#capacity) this.#ids.delete(this.#ids.keys().next().value!)
    return true
  }
}
