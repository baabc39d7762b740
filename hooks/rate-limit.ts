/**
 * A token bucket per connection: `burst` publishes at once, refilled at `perSecond`. Refused
 * publishes draw on a second allowance of the same size and rate, so a client sending at up to
 * twice its rate is only slowed down (RATE_LIMITED), while one that keeps sending far above it —
 * a flood — runs the allowance dry and is disconnected. Takes a clock so tests are exact.
 */
export class TokenBucket {
  readonly #perSecond: number
  readonly #burst: number
  readonly #now: () => number
  #tokens: number
  #refusals: number
  #updated: number

  constructor (perSecond: number, burst: number, now: () => number) {
    this.#perSecond = perSecond
    this.#burst = burst
    this.#now = now
    this.#tokens = burst
    this.#refusals = burst
    this.#updated = now()
  }

  /** True when the publish may go ahead. */
  take (): boolean {
    const now = this.#now()
    const refill = (now - this.#updated) / 1000 * this.#perSecond
    this.#updated = now
    this.#tokens = Math.min(this.#burst, this.#tokens + refill)
    this.#refusals = Math.min(this.#burst, this.#refusals + refill)
    if (this.#tokens >= 1) {
      this.#tokens -= 1
      return true
    }
    this.#refusals -= 1
    return false
  }

  /** True once refused publishes have outrun their allowance. */
  get flooding (): boolean {
    return this.#refusals < 0
  }
}
