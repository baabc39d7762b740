import { LRUCache } from 'lru-cache'

/** Per connection: publishes and payload bytes, each sustained per second and in a burst. */
export interface RateLimits {
  perSecond: number
  burst: number
  bytesPerSecond: number
  bytesBurst: number
}

/** Why a publish was refused, and whether the connection is flooding (and goes). */
export interface Refusal {
  over: 'publishes per second' | 'payload bytes per second'
  flooding: boolean
}

/** Allowances of client ids seen recently; past it the least recently used are forgotten. */
const REMEMBERED_CLIENTS = 100_000

/**
 * The allowances of all clients, kept by client id rather than by connection: a QoS 1 publish over
 * the rate closes its connection, and a device that reconnected at once must not come back with a
 * full burst. An allowance unused for as long as refilling an empty one takes (twice: the refused
 * publishes' own allowance refills too) is the same as a new one, so it is forgotten.
 */
export class Allowances {
  readonly #limits: RateLimits
  readonly #now: () => number
  readonly #byClient: LRUCache<string, PublishAllowance>

  constructor (limits: RateLimits, now: () => number) {
    this.#limits = limits
    this.#now = now
    const refillMs = 2000 * Math.max(limits.burst / limits.perSecond, limits.bytesBurst / limits.bytesPerSecond)
    this.#byClient = new LRUCache({ max: REMEMBERED_CLIENTS, ttl: Math.max(1, Math.ceil(refillMs)), updateAgeOnGet: true })
  }

  of (clientId: string): PublishAllowance {
    let allowance = this.#byClient.get(clientId)
    if (allowance === undefined) {
      allowance = new PublishAllowance(this.#limits, this.#now)
      this.#byClient.set(clientId, allowance)
    }
    return allowance
  }
}

/**
 * What one connection may publish: a number of publishes and a number of payload bytes per second,
 * so neither many small publishes nor a few large ones cost the broker more than their share.
 */
export class PublishAllowance {
  readonly #publishes: TokenBucket
  readonly #bytes: TokenBucket
  readonly #bytesBurst: number

  constructor (limits: RateLimits, now: () => number) {
    this.#publishes = new TokenBucket(limits.perSecond, limits.burst, now)
    this.#bytes = new TokenBucket(limits.bytesPerSecond, limits.bytesBurst, now)
    this.#bytesBurst = limits.bytesBurst
  }

  /** Charges one publish of `bytes`: undefined when it may go ahead. */
  take (bytes: number): Refusal | undefined {
    if (!this.#publishes.take()) return { over: 'publishes per second', flooding: this.#publishes.flooding }
    // A payload larger than the whole burst costs the burst: it is refused for its size (TOO_LARGE), not here.
    if (!this.#bytes.take(Math.min(bytes, this.#bytesBurst))) return { over: 'payload bytes per second', flooding: this.#bytes.flooding }
    return undefined
  }
}

/**
 * A token bucket: `burst` tokens at once, refilled at `perSecond`. Refused takes draw on a second
 * allowance of the same size and rate, so a client sending at up to twice its rate is only slowed
 * down (RATE_LIMITED), while one that keeps sending far above it — a flood — runs the allowance dry
 * and is disconnected. Takes a clock so tests are exact.
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

  /** True when `cost` tokens were there and are taken. */
  take (cost = 1): boolean {
    const now = this.#now()
    const refill = (now - this.#updated) / 1000 * this.#perSecond
    this.#updated = now
    this.#tokens = Math.min(this.#burst, this.#tokens + refill)
    this.#refusals = Math.min(this.#burst, this.#refusals + refill)
    if (this.#tokens >= cost) {
      this.#tokens -= cost
      return true
    }
    this.#refusals -= cost
    return false
  }

  /** True once refused publishes have outrun their allowance. */
  get flooding (): boolean {
    return this.#refusals < 0
  }
}
