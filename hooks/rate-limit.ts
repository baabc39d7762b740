/**
 * A token bucket per connection: `burst` publishes at once, refilled at `perSecond`. Takes a clock
 * so tests are exact. `strikes` counts consecutive refusals, so a client that ignores RATE_LIMITED
 * errors and keeps flooding can be told apart from one that briefly bursts.
 */
export class TokenBucket {
  readonly #perSecond: number
  readonly #burst: number
  readonly #now: () => number
  #tokens: number
  #updated: number
  strikes = 0

  constructor (perSecond: number, burst: number, now: () => number) {
    this.#perSecond = perSecond
    this.#burst = burst
    this.#now = now
    this.#tokens = burst
    this.#updated = now()
  }

  take (): boolean {
    const now = this.#now()
    this.#tokens = Math.min(this.#burst, this.#tokens + (now - this.#updated) / 1000 * this.#perSecond)
    this.#updated = now
    if (this.#tokens >= 1) {
      this.#tokens -= 1
      this.strikes = 0
      return true
    }
    this.strikes += 1
    return false
  }
}
