/** Before the first sample: RFC 6298's initial RTO, 1 s, taken as the round trip. */
const INITIAL_RTT_MS = 1000
/** An acknowledgement later than this many smoothed round trips is overdue… */
const OVERDUE_RTTS = 3
/** …but never sooner than this, ms: a phone's radio waking from idle takes that long. */
const MIN_OVERDUE_MS = 1000

/** A reconnect's TCP handshake may take this many smoothed round trips… */
const HANDSHAKE_RTTS = 2
/** …and never less than this, ms (the kernel's own first SYN retransmission comes after 1 s). */
const MIN_HANDSHAKE_MS = 1000

/**
 * A smoothed round-trip time from acknowledgements, as TCP keeps one (RFC 6298 §2: SRTT and
 * RTTVAR, gains 1/8 and 1/4). Samples are PUBACK times of sends, which include the broker's
 * durable write and any queueing on the link: exactly the wait a healthy link makes normal.
 */
export class RttEstimator {
  #srtt: number | undefined
  #rttvar = 0

  /** The smoothed round trip, ms (the initial guess until a sample came). */
  get srttMs (): number {
    return this.#srtt ?? INITIAL_RTT_MS
  }

  /** RFC 6298's variation estimate, ms (0 until a sample came). */
  get rttvarMs (): number {
    return this.#rttvar
  }

  sample (rttMs: number): void {
    if (this.#srtt === undefined) {
      this.#srtt = rttMs
      this.#rttvar = rttMs / 2
      return
    }
    this.#rttvar = 0.75 * this.#rttvar + 0.25 * Math.abs(this.#srtt - rttMs)
    this.#srtt = 0.875 * this.#srtt + 0.125 * rttMs
  }

  /**
   * How long a reconnect may hear nothing from the network (no TCP handshake) before a fresh socket
   * replaces it, ms: max(2 × SRTT, 1 s), twice a round trip that includes the broker's write and
   * queueing, so a live link's SYN-ACK always comes sooner. Undefined before the first sample: a
   * link not yet measured keeps the kernel's own SYN schedule.
   */
  handshakeTimeoutMs (): number | undefined {
    return this.#srtt === undefined ? undefined : Math.max(HANDSHAKE_RTTS * this.#srtt, MIN_HANDSHAKE_MS)
  }

  /** How long an acknowledgement may take before the link is suspect: max(3 × SRTT, 1 s). */
  overdueMs (): number {
    return Math.max(OVERDUE_RTTS * this.srttMs, MIN_OVERDUE_MS)
  }
}
