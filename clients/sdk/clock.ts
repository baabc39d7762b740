/** Cancels a timer set with {@link Clock.setTimer}; calling it twice, or after the timer fired, does nothing. */
export type CancelTimer = () => void

/**
 * Time as the SDK sees it. Backoff, gap detection and retry pauses take a clock instead of calling
 * `setTimeout` directly, so tests drive them with a fake clock and assert exact delays.
 */
export interface Clock {
  /** Milliseconds since some fixed origin. */
  now (): number
  setTimer (delayMs: number, callback: () => void): CancelTimer
}

export const systemClock: Clock = Object.freeze({
  now: () => Date.now(),
  setTimer (delayMs: number, callback: () => void): CancelTimer {
    const timer = setTimeout(callback, delayMs)
    return () => clearTimeout(timer)
  }
})

/** Resolves after `delayMs` on `clock`, or at once when `signal` is aborted. */
export function sleep (clock: Clock, delayMs: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve()
    const done = (): void => {
      cancel()
      signal.removeEventListener('abort', done)
      resolve()
    }
    const cancel = clock.setTimer(delayMs, done)
    signal.addEventListener('abort', done, { once: true })
  })
}
