/**
 * Time as the push module sees it: the grace period, the coalescing window and retry backoff take
 * a clock instead of calling setTimeout, so tests drive them exactly with a fake one.
 */
export interface PushClock {
  /** Milliseconds since some fixed origin. */
  now (): number
  /** Calls `callback` after `delayMs`; the returned function cancels it (harmless once fired). */
  setTimer (delayMs: number, callback: () => void): () => void
}

export const systemPushClock: PushClock = Object.freeze({
  now: () => Date.now(),
  setTimer (delayMs: number, callback: () => void) {
    // unref: a pending push never keeps a stopping broker alive.
    const timer = setTimeout(callback, delayMs).unref()
    return () => clearTimeout(timer)
  }
})
