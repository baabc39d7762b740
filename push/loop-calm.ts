import { performance } from 'node:perf_hooks'
import type { PushClock } from './clock.js'

export interface CalmOptions {
  /** Event-loop utilization (share of time busy, 0–1) above which the loop counts as busy. */
  threshold: number
  /** Utilization under which the loop counts as idle: work runs unpaced. */
  idle: number
  /** The window the loop is looked at over, ms: its utilization is taken once per window. */
  sampleMs: number
  /** Pieces of work (a send, a couple of token reads) run per window at most while the loop is neither idle nor busy. */
  perWindow: number
  /** Work waits at most this long for a calm loop, ms (then it runs at the window's pace anyway): a push is late, never lost. */
  maxWaitMs: number
}

/** Busy above 70 % of the time, idle under 30 %; a window of 25 ms; in between 5 pieces a window (200 a second); nothing waits on a busy loop more than 2 s. */
export const DEFAULT_CALM: CalmOptions = { threshold: 0.7, idle: 0.3, sampleMs: 25, perWindow: 5, maxWaitMs: 2000 }

/** No waiting: work runs when asked (unit tests of the policy and dispatcher, where timing is the test's). */
export const RUN_NOW: Pick<LoopCalm, 'run'> = Object.freeze({ run: (work: () => void) => work() })

/** The event loop's utilization since the previous call, 0–1 (tests pass a scripted one). */
export type UtilizationSampler = () => number

/** performance.eventLoopUtilization over the window since the previous call. */
export function loopUtilization (): UtilizationSampler {
  let last = performance.eventLoopUtilization()
  return () => {
    const now = performance.eventLoopUtilization()
    const window = performance.eventLoopUtilization(now, last)
    last = now
    return window.utilization
  }
}

/**
 * Push work runs when the broker's event loop has room for it, at a bounded pace. A message to a
 * sleeping phone costs the main thread a token read and a hand-over to the push worker, and the
 * worker a share of the cores; for a thousand phones woken in one second (a group, a broadcast, a
 * broker just restarted with every conversation cold) that is enough to hold up the PUBACKs of
 * the messages around it — the bench measured PUBACK p99 4× the same run without push. Pushes are
 * hints that may come a moment later; a PUBACK is the sender's ✓. So push work runs at once while
 * the loop is idle (utilization under `idle`), at most `perWindow` pieces a window while it is
 * working, and not at all while it is busy (over `threshold`), in the order asked; work that has
 * waited `maxWaitMs` for a calmer window runs at the working pace regardless.
 */
export class LoopCalm {
  readonly #o: CalmOptions
  readonly #clock: PushClock
  readonly #utilization: UtilizationSampler
  readonly #waiting: Array<{ work: () => void, since: number }> = []
  #windowAt = Number.NEGATIVE_INFINITY
  #busy = false
  #idle = true
  #spent = 0
  #cancelTimer: (() => void) | undefined
  #closed = false

  constructor (options: CalmOptions, clock: PushClock, utilization: UtilizationSampler = loopUtilization()) {
    this.#o = options
    this.#clock = clock
    this.#utilization = utilization
  }

  /** Runs `work` now if this window has room for it, else in a later one; in the order asked. */
  run (work: () => void): void {
    if (this.#closed) return
    if (this.#waiting.length === 0 && this.#grant(this.#clock.now())) {
      work()
      return
    }
    this.#waiting.push({ work, since: this.#clock.now() })
    this.#cancelTimer ??= this.#clock.setTimer(this.#o.sampleMs, () => this.#recheck())
  }

  /** Work still waiting is dropped (its owner is closing too). */
  close (): void {
    this.#closed = true
    this.#cancelTimer?.()
    this.#waiting.length = 0
  }

  /** Room for one piece of work now: a calm window (or work overdue since `since`) with budget left. */
  #grant (now: number, since = now): boolean {
    if (now - this.#windowAt >= this.#o.sampleMs) {
      this.#windowAt = now
      this.#spent = 0
      const utilization = this.#utilization()
      this.#busy = utilization > this.#o.threshold
      this.#idle = utilization < this.#o.idle
    }
    if (this.#idle) return true
    if ((this.#busy && now - since < this.#o.maxWaitMs) || this.#spent >= this.#o.perWindow) return false
    this.#spent++
    return true
  }

  #recheck (): void {
    this.#cancelTimer = undefined
    if (this.#closed) return
    const now = this.#clock.now()
    while (this.#waiting.length > 0 && this.#grant(now, this.#waiting[0]!.since)) this.#waiting.shift()!.work()
    if (this.#waiting.length > 0 && !this.#closed) this.#cancelTimer ??= this.#clock.setTimer(this.#o.sampleMs, () => this.#recheck())
  }
}
