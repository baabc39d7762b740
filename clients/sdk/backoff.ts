export interface BackoffOptions {
  /** Delay ceiling of the first retry, ms. Default 500. */
  baseMs?: number
  /** Largest delay ceiling, ms. Default 30 000. */
  capMs?: number
}

export const DEFAULT_BACKOFF = Object.freeze({ baseMs: 500, capMs: 30_000 })

/**
 * Exponential backoff with full jitter: attempt n waits random(0, min(cap, base·2^(n-1))) ms.
 * Full jitter spreads a crowd of phones that lost the same cell tower over the whole window, so
 * they do not reconnect in lockstep (AWS Architecture Blog, "Exponential Backoff And Jitter").
 */
export class Backoff {
  readonly #baseMs: number
  readonly #capMs: number
  readonly #random: () => number
  #attempt = 0

  /** `random` returns a number in [0, 1), like Math.random; injectable so tests get exact delays. */
  constructor (options: BackoffOptions = {}, random: () => number = Math.random) {
    this.#baseMs = options.baseMs ?? DEFAULT_BACKOFF.baseMs
    this.#capMs = options.capMs ?? DEFAULT_BACKOFF.capMs
    if (!(this.#baseMs > 0) || !(this.#capMs >= this.#baseMs)) throw new RangeError('backoff needs 0 < baseMs <= capMs')
    this.#random = random
  }

  /** Retries made since the last reset (1 after the first call to next()). */
  get attempt (): number {
    return this.#attempt
  }

  /** Counts one more attempt and returns how long to wait before it, ms. */
  next (): number {
    this.#attempt++
    // Cap the exponent too: 2^1024 is Infinity, and the ceiling is reached long before.
    const ceiling = Math.min(this.#capMs, this.#baseMs * 2 ** Math.min(this.#attempt - 1, 52))
    return Math.floor(this.#random() * ceiling)
  }

  /** After a connection that worked, start from the first step again. */
  reset (): void {
    this.#attempt = 0
  }
}
