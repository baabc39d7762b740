import type { CancelTimer, Clock } from './clock.js'
import type { RttEstimator } from './rtt.js'

export interface WatchdogHooks {
  /** Sends a PINGREQ on the open connection; resolves on its PINGRESP, undefined when offline. */
  probe (): Promise<void> | undefined
  /** The link is dead: open a new connection now, not when TCP's retransmission backoff gives up. */
  dead (): void
}

/**
 * Notices a dead link within seconds. Every acknowledged request (a send's PUBACK) is tracked from
 * when it was written: its round trip feeds the RTT estimate, and while any is outstanding the
 * oldest may take `rtt.overdueMs()`. Then a PINGREQ probes the link, with the same timeout; no
 * PINGRESP and no acknowledgement by then means the link is dead. TCP itself would keep the
 * socket for minutes, retransmitting at doubling intervals (1.6–9.6 s late after a 5 s outage).
 * The probing is the short keepalive while messages are in flight; idle, the MQTT keepalive
 * negotiated at CONNECT (long, for the radio and battery) is all that runs.
 */
export class LinkWatchdog {
  readonly #clock: Clock
  readonly #rtt: RttEstimator
  readonly #hooks: WatchdogHooks
  /** When each outstanding acknowledgement's request was written. */
  readonly #outstanding = new Set<{ readonly sentAt: number }>()
  /** Progress (an acknowledgement, an answered probe) restarts the wait from here. */
  #since = 0
  #cancel: CancelTimer | undefined
  #probing = false

  constructor (clock: Clock, rtt: RttEstimator, hooks: WatchdogHooks) {
    this.#clock = clock
    this.#rtt = rtt
    this.#hooks = hooks
  }

  /** Watches `ack` (written now); resolves and rejects with it. */
  track<T> (ack: Promise<T>): Promise<T> {
    const entry = { sentAt: this.#clock.now() }
    if (this.#outstanding.size === 0) this.#since = entry.sentAt
    this.#outstanding.add(entry)
    this.#arm()
    return ack.then((value) => {
      if (this.#outstanding.delete(entry)) {
        this.#rtt.sample(this.#clock.now() - entry.sentAt)
        this.#progress()
      }
      return value
    }, (error: unknown) => {
      this.#outstanding.delete(entry)
      this.#arm()
      throw error
    })
  }

  /** The connection is gone (or new): nothing outstanding on it is waited for any more. */
  reset (): void {
    this.#outstanding.clear()
    this.#stop()
  }

  #progress (): void {
    this.#since = this.#clock.now()
    this.#stop()
    this.#arm()
  }

  #stop (): void {
    this.#cancel?.()
    this.#cancel = undefined
    this.#probing = false
  }

  #arm (): void {
    if (this.#outstanding.size === 0) return this.#stop()
    if (this.#cancel !== undefined) return
    const due = this.#since + this.#rtt.overdueMs()
    this.#cancel = this.#clock.setTimer(Math.max(0, due - this.#clock.now()), () => {
      this.#cancel = undefined
      if (this.#probing) return this.#declareDead()
      this.#probe()
    })
  }

  #probe (): void {
    const answer = this.#hooks.probe()
    if (answer === undefined) return this.#declareDead()
    this.#probing = true
    this.#since = this.#clock.now()
    this.#arm()
    answer.then(() => { if (this.#probing) this.#progress() }, () => { /* the connection went: reset() follows */ })
  }

  #declareDead (): void {
    this.reset()
    this.#hooks.dead()
  }
}
