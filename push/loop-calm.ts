import { performance } from 'node:perf_hooks'
import type { PushClock } from './clock.js'

export interface CalmOptions {
  /** Event-loop utilization (share of time busy, 0–1) above which the loop counts as busy. */
  threshold: number
  /** How often a busy loop is looked at again, ms; also the shortest window a utilization is taken over. */
  sampleMs: number
  /** Work waits at most this long for a calm loop, ms: a push is late, never lost. */
  maxWaitMs: number
}

/** Busy above 70 % of the time; looked at every 25 ms; nothing waits more than 2 s. */
export const DEFAULT_CALM: CalmOptions = { threshold: 0.7, sampleMs: 25, maxWaitMs: 2000 }

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
 * Push work runs when the broker's event loop has room for it. A message to a sleeping phone costs
 * the main thread a token read and a hand-over to the push worker, and the worker a share of the
 * cores; for a thousand phones woken in one second (a group, a broadcast, a broker just restarted
 * with every conversation cold) that is enough to hold up the PUBACKs of the messages around it —
 * the bench measured PUBACK p99 4× the same run without push. Pushes are hints that may come a
 * moment later; a PUBACK is the sender's ✓. So push work is deferred while the loop has been busy
 * (utilization above the threshold) and runs once it has calmed, or after `maxWaitMs` regardless.
 */
export class LoopCalm {
  readonly #o: CalmOptions
  readonly #clock: PushClock
  readonly #utilization: UtilizationSampler
  readonly #waiting: Array<() => void> = []
  #sampledAt = Number.NEGATIVE_INFINITY
  #busy = false
  #oldestAt = 0
  #cancelTimer: (() => void) | undefined
  #closed = false

  constructor (options: CalmOptions, clock: PushClock, utilization: UtilizationSampler = loopUtilization()) {
    this.#o = options
    this.#clock = clock
    this.#utilization = utilization
  }

  /** Runs `work` now if the loop has room, else once it has (or after maxWaitMs); in the order asked. */
  run (work: () => void): void {
    if (this.#closed) return
    if (this.#waiting.length === 0 && !this.#isBusy()) {
      work()
      return
    }
    if (this.#waiting.length === 0) this.#oldestAt = this.#clock.now()
    this.#waiting.push(work)
    this.#cancelTimer ??= this.#clock.setTimer(this.#o.sampleMs, () => this.#recheck())
  }

  /** Work still waiting is dropped (its owner is closing too). */
  close (): void {
    this.#closed = true
    this.#cancelTimer?.()
    this.#waiting.length = 0
  }

  #isBusy (): boolean {
    const now = this.#clock.now()
    if (now - this.#sampledAt >= this.#o.sampleMs) {
      this.#busy = this.#utilization() > this.#o.threshold
      this.#sampledAt = now
    }
    return this.#busy
  }

  #recheck (): void {
    this.#cancelTimer = undefined
    if (this.#closed || this.#waiting.length === 0) return
    if (this.#isBusy() && this.#clock.now() - this.#oldestAt < this.#o.maxWaitMs) {
      this.#cancelTimer = this.#clock.setTimer(this.#o.sampleMs, () => this.#recheck())
      return
    }
    for (const work of this.#waiting.splice(0)) work()
  }
}
