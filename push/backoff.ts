export interface RetryPolicy {
  /** Ceiling of the first retry's delay, ms. */
  baseMs: number
  /** Largest delay ceiling, ms. */
  capMs: number
  /** Sends of one push before it is given up (the first included). */
  maxAttempts: number
}

/** FCM's advice: start at about a second, back off exponentially, give up on a push after a few minutes. */
export const DEFAULT_RETRY: RetryPolicy = Object.freeze({ baseMs: 1000, capMs: 60_000, maxAttempts: 6 })

/**
 * The wait before retry number `retry` (1 for the first): exponential backoff with full jitter,
 * random(0, min(cap, base·2^(retry-1))), so brokers that saw the same outage do not return in
 * lockstep — but never less than the service's Retry-After, which it asked for explicitly.
 */
export function retryDelayMs (policy: RetryPolicy, retry: number, retryAfterMs: number | undefined, random: () => number): number {
  const ceiling = Math.min(policy.capMs, policy.baseMs * 2 ** Math.min(retry - 1, 52))
  return Math.max(retryAfterMs ?? 0, Math.floor(random() * ceiling))
}
