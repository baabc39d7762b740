import type { Clock } from './clock.js'

/**
 * Sends in flight before the link is measured. About what TCP's initial window (10 segments, RFC
 * 6928: 14.6 kB) carries of chat sends (150–250 B each on the wire): on a fresh link the kernel, not
 * this window, sets the pace of a burst's first round trip.
 */
const INITIAL_WINDOW = 64
/** Never fewer in flight than this: a few sends per round trip keep a slow link busy between acknowledgements. */
const MIN_WINDOW = 4
/**
 * The window is this many bandwidth-delay products (BBR's cwnd_gain, 2): when the window limits a
 * flight, the acknowledgement rate it measures doubles the window each round trip until the link
 * is what limits it; one extra BDP absorbs the broker's durable write and acknowledgement jitter.
 */
const GAIN = 2
/**
 * A rate measured more round trips ago than this gives way to what the window measured in the
 * latest one (BBR's bandwidth filter spans 10). Rounds count acknowledged flights, not time: a
 * chat that goes quiet keeps its estimate.
 */
const RATE_FILTER_ROUNDS = 10

/** What the window noted about one send when it was written. */
export interface SendTicket {
  readonly connection: number
  readonly sentAt: number
  /** Sends acknowledged before this one was written… */
  readonly delivered: number
  /** …and when the last of them was (or when this flight began). */
  readonly deliveredAt: number
  /** Written with room to spare and nothing else waiting: its rate says how fast the app sent, not the link. */
  readonly appLimited: boolean
}

/**
 * How many sends may await their PUBACK at once: the bandwidth-delay product of the link as the
 * acknowledgements show it, times {@link GAIN}, between {@link MIN_WINDOW} and the ceiling (the
 * broker's limit, protocol/flow-control.ts). A fixed window either leaves a fast link idle for whole
 * round trips (20 sends on 3G, where 60 fit in one) or queues seconds of sends in a 2G socket, ahead
 * of the device's read watermarks and requests.
 *
 * The rate is a delivery rate as BBR measures it (draft-cheng-iccrg-delivery-rate-estimation):
 * sends acknowledged between a send and its own acknowledgement, over that time — so a burst of
 * PUBACKs read in one chunk does not count as a fast link. The estimate is the best such rate of
 * the last {@link RATE_FILTER_ROUNDS} round trips; a send the app (not the window) limited raises
 * it, never lowers it: a chat that went quiet keeps its window, and its next burst does not crawl
 * up from the floor. The round trip is the least seen on this connection,
 * not the smoothed one: PUBACK times include the queue the window itself builds, and a window
 * sized from them would grow that queue without end. A new connection may take another path, so
 * its first sample replaces the previous connection's least round trip.
 */
export class SendWindow {
  readonly #clock: Clock
  readonly #ceiling: number
  #connection = 0
  #inFlight = 0
  #delivered = 0
  #deliveredAt = 0
  /** Round trips of acknowledged flights so far; the next begins when a send written after this one began is acknowledged. */
  #round = 0
  #nextRoundDelivered = 0
  /** The estimate, sends per ms, and the round it was measured in. */
  #rate: { perMs: number, round: number } | undefined
  /** The best rate the window (not the app) limited in the current round. */
  #roundBest: number | undefined
  /** Whether any rate was measured while the window held sends back. */
  #linkMeasured = false
  #minRttMs: number | undefined
  #minRttStale = false

  constructor (clock: Clock, ceiling: number) {
    this.#clock = clock
    this.#ceiling = ceiling
  }

  /** Sends that may await their PUBACK at once now. */
  get size (): number {
    const initial = Math.min(INITIAL_WINDOW, this.#ceiling)
    if (this.#rate === undefined || this.#minRttMs === undefined) return initial
    const sized = Math.max(Math.min(MIN_WINDOW, this.#ceiling), Math.min(this.#ceiling, Math.ceil(GAIN * this.#rate.perMs * this.#minRttMs)))
    // Until the window itself has held sends back, the acknowledgements measured how fast the app
    // sent, not what the link holds: no reason to go below the start.
    return this.#linkMeasured ? sized : Math.max(sized, initial)
  }

  /** The least round trip seen (ms), undefined before the first acknowledgement. */
  get minRttMs (): number | undefined {
    return this.#minRttMs
  }

  /** A send written now. `backlogged`: sends are still queued behind it, held back by the window. */
  sent (backlogged: boolean): SendTicket {
    const now = this.#clock.now()
    // A flight starting from nothing measures from its first send, not from an acknowledgement long ago.
    if (this.#inFlight === 0) this.#deliveredAt = now
    this.#inFlight++
    return { connection: this.#connection, sentAt: now, delivered: this.#delivered, deliveredAt: this.#deliveredAt, appLimited: !backlogged }
  }

  /** The PUBACK of `ticket`'s send. */
  acked (ticket: SendTicket): void {
    if (ticket.connection !== this.#connection) return
    const now = this.#clock.now()
    this.#inFlight--
    if (ticket.delivered >= this.#nextRoundDelivered) this.#nextRound()
    this.#delivered++
    this.#deliveredAt = now
    const rtt = now - ticket.sentAt
    if (this.#minRttMs === undefined || this.#minRttStale || rtt < this.#minRttMs) this.#minRttMs = rtt
    this.#minRttStale = false
    const elapsed = now - ticket.deliveredAt
    if (elapsed > 0) this.#rateSample((this.#delivered - ticket.delivered) / elapsed, ticket.appLimited)
  }

  /** The connection is gone: its sends are no longer in flight, and the next one measures its own round trip. */
  connectionLost (): void {
    this.#connection++
    this.#inFlight = 0
    this.#minRttStale = true
  }

  #nextRound (): void {
    const current = this.#rate
    if (current !== undefined && this.#roundBest !== undefined && this.#round - current.round >= RATE_FILTER_ROUNDS) this.#rate = { perMs: this.#roundBest, round: this.#round }
    this.#round++
    this.#nextRoundDelivered = this.#delivered + 1
    this.#roundBest = undefined
  }

  #rateSample (perMs: number, appLimited: boolean): void {
    if (!appLimited) {
      this.#roundBest = Math.max(this.#roundBest ?? 0, perMs)
      this.#linkMeasured = true
    }
    if (this.#rate === undefined || perMs >= this.#rate.perMs) this.#rate = { perMs, round: this.#round }
  }
}
