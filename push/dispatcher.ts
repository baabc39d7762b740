import type { Logger } from 'pino'
import { retryDelayMs, type RetryPolicy } from './backoff.js'
import type { PushClock } from './clock.js'
import type { PushMessage, PushMetrics, PushOutcome, PushProvider } from './contracts.js'
import { RUN_NOW, type LoopCalm } from './loop-calm.js'

export interface DispatcherOptions {
  provider: PushProvider
  clock: PushClock
  log: Logger
  metrics: PushMetrics
  retry: RetryPolicy
  /** Pushes waiting to be sent or retried, at most. */
  maxQueue: number
  /** Sends in flight at once. */
  concurrency: number
  /** The service called the token dead. */
  onUnregistered: (message: PushMessage) => void
  /** In [0, 1), like Math.random; injectable so tests get exact delays. */
  random?: () => number
  /** Holds sends back while the event loop is busy (loop-calm.ts); by default they start at once. */
  calm?: Pick<LoopCalm, 'run'>
}

interface Job {
  readonly key: string
  message: PushMessage
  /** Sends made so far. */
  attempts: number
  cancelWait?: () => void
}

/**
 * Sends pushes without ever holding up the caller: a bounded queue keyed by device and
 * conversation (a newer push replaces a queued older one of the same key), a fixed number of sends
 * in flight, and retries of what the service asked to retry — exponential backoff with full jitter,
 * never sooner than its Retry-After, which also pauses every send (the service asked this broker to
 * slow down, not one device). When the service fails, that is logged once, and its recovery once:
 * one line per outage, never one per push.
 */
export class PushDispatcher {
  readonly #o: DispatcherOptions
  readonly #random: () => number
  readonly #calm: Pick<LoopCalm, 'run'>
  /** Ready to send, oldest first (a Map keeps insertion order). */
  readonly #queue = new Map<string, Job>()
  /** Backing off before a retry. */
  readonly #waiting = new Map<string, Job>()
  #inFlight = 0
  #pausedUntil = 0
  #cancelPause: (() => void) | undefined
  #outage: { since: number, failures: number } | undefined
  #overflowing = false
  #closed = false
  /** Sends wait for a calm event loop; one wait at a time. */
  #deferred = false

  constructor (options: DispatcherOptions) {
    this.#o = options
    this.#random = options.random ?? Math.random
    this.#calm = options.calm ?? RUN_NOW
  }

  /** Pushes queued or backing off. */
  get backlog (): number {
    return this.#queue.size + this.#waiting.size
  }

  get inFlight (): number {
    return this.#inFlight
  }

  enqueue (key: string, message: PushMessage): void {
    if (this.#closed) return
    const queued = this.#queue.get(key)
    if (queued !== undefined) {
      // Same device and conversation: the newer push says everything the older one did.
      queued.message = message
      queued.attempts = 0
      this.#o.metrics.coalesced()
      return
    }
    const waiting = this.#waiting.get(key)
    if (waiting !== undefined) {
      waiting.cancelWait?.()
      this.#waiting.delete(key)
      this.#o.metrics.coalesced()
    }
    if (this.backlog >= this.#o.maxQueue) this.#dropOldest()
    this.#queue.set(key, { key, message, attempts: 0 })
    this.#pump()
  }

  /** Stops sending; what is queued is dropped (a push is a hint: the store still has every message). */
  close (): void {
    this.#closed = true
    this.#cancelPause?.()
    for (const job of this.#waiting.values()) job.cancelWait?.()
    this.#waiting.clear()
    this.#queue.clear()
  }

  #dropOldest (): void {
    const [oldest] = this.#queue.size > 0 ? this.#queue.values() : this.#waiting.values()
    if (oldest === undefined) return
    oldest.cancelWait?.()
    this.#queue.delete(oldest.key)
    this.#waiting.delete(oldest.key)
    this.#o.metrics.failed('queue-full')
    if (!this.#overflowing) {
      this.#overflowing = true
      this.#o.log.warn({ provider: this.#o.provider.name, maxQueue: this.#o.maxQueue }, 'push queue full: dropping the oldest pushes (logged once until it drains)')
    }
  }

  #pump (): void {
    if (this.#closed || this.#deferred) return
    const now = this.#o.clock.now()
    if (now < this.#pausedUntil) {
      this.#cancelPause ??= this.#o.clock.setTimer(this.#pausedUntil - now, () => {
        this.#cancelPause = undefined
        this.#pump()
      })
      return
    }
    this.#deferred = true
    this.#calm.run(() => {
      this.#deferred = false
      this.#start()
    })
  }

  /** One send per grant of the calm gate (loop-calm.ts paces pushes by the send); the next asks again. */
  #start (): void {
    if (this.#closed) return
    const [job] = this.#queue.values()
    if (job !== undefined && this.#inFlight < this.#o.concurrency) {
      this.#queue.delete(job.key)
      this.#inFlight++
      void this.#send(job)
    }
    if (this.#overflowing && this.backlog < this.#o.maxQueue / 2) this.#overflowing = false
    if (job !== undefined && this.#queue.size > 0 && this.#inFlight < this.#o.concurrency) this.#pump()
  }

  async #send (job: Job): Promise<void> {
    job.attempts++
    let outcome: PushOutcome
    try {
      outcome = await this.#o.provider.send(job.message)
    } catch (error) {
      outcome = { kind: 'retry', reason: error instanceof Error ? error.message : String(error) }
    }
    this.#inFlight--
    if (this.#closed) return
    switch (outcome.kind) {
      case 'sent':
        this.#o.metrics.sent()
        this.#recovered()
        break
      case 'unregistered':
        this.#recovered()
        this.#o.onUnregistered(job.message)
        break
      case 'failed':
        this.#o.metrics.failed('rejected')
        this.#failing(outcome.reason)
        break
      case 'retry':
        this.#failing(outcome.reason)
        this.#retryLater(job, outcome.retryAfterMs)
        break
    }
    this.#pump()
  }

  #retryLater (job: Job, retryAfterMs: number | undefined): void {
    if (job.attempts >= this.#o.retry.maxAttempts) {
      this.#o.metrics.failed('gave-up')
      return
    }
    // A newer push for the same key arrived while this one was in flight: it supersedes the retry.
    if (this.#queue.has(job.key) || this.#waiting.has(job.key)) return
    const now = this.#o.clock.now()
    if (retryAfterMs !== undefined) this.#pausedUntil = Math.max(this.#pausedUntil, now + retryAfterMs)
    const delay = retryDelayMs(this.#o.retry, job.attempts, retryAfterMs, this.#random)
    this.#o.metrics.retried()
    this.#waiting.set(job.key, job)
    job.cancelWait = this.#o.clock.setTimer(delay, () => {
      job.cancelWait = undefined
      this.#waiting.delete(job.key)
      if (this.#queue.has(job.key)) return
      this.#queue.set(job.key, job)
      this.#pump()
    })
  }

  #failing (reason: string): void {
    if (this.#outage === undefined) {
      this.#outage = { since: this.#o.clock.now(), failures: 0 }
      this.#o.log.warn({ provider: this.#o.provider.name, reason }, 'push service failing: pushes are retried with backoff (logged once until it recovers)')
    }
    this.#outage.failures++
  }

  #recovered (): void {
    if (this.#outage === undefined) return
    const { since, failures } = this.#outage
    this.#outage = undefined
    this.#o.log.info({ provider: this.#o.provider.name, failures, seconds: Math.round((this.#o.clock.now() - since) / 1000) }, 'push service recovered')
  }
}
