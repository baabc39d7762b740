import { describe, expect, it } from 'vitest'
import { SendWindow, type SendTicket } from '../../clients/sdk/send-window.js'
import { SENDS_IN_FLIGHT } from '../../protocol/flow-control.js'
import { FakeClock } from './helpers/fake-clock.js'

/**
 * A link with one bottleneck, on the fake clock: each send takes `serviceMs` of the link, one after
 * another, and its PUBACK comes `roundTripMs` after it left the bottleneck. `backlog` sends are
 * queued at once; the window lets out what it allows and one more for each PUBACK, as the outbox
 * does. Returns the window after every PUBACK and the most sends that were ever in flight.
 */
function drain (clock: FakeClock, window: SendWindow, link: { serviceMs: number, roundTripMs: number }, backlog: number): { sizes: number[], mostInFlight: number } {
  let queued = backlog
  let inFlight = 0
  let mostInFlight = 0
  let linkFreeAt = clock.now()
  const sizes: number[] = []
  const pump = (): void => {
    const batch = Math.max(0, Math.min(queued, window.size - inFlight))
    queued -= batch
    for (let i = 0; i < batch; i++) {
      inFlight++
      mostInFlight = Math.max(mostInFlight, inFlight)
      const ticket = window.sent(queued > 0)
      linkFreeAt = Math.max(linkFreeAt, clock.now()) + link.serviceMs
      clock.setTimer(linkFreeAt + link.roundTripMs - clock.now(), () => acked(ticket))
    }
  }
  const acked = (ticket: SendTicket): void => {
    inFlight--
    window.acked(ticket)
    sizes.push(window.size)
    pump()
  }
  pump()
  clock.advance(backlog * link.serviceMs + 10 * link.roundTripMs)
  return { sizes, mostInFlight }
}

/** One send, alone, acknowledged after `roundTripMs`. */
function single (clock: FakeClock, window: SendWindow, roundTripMs: number): void {
  const ticket = window.sent(false)
  clock.advance(roundTripMs)
  window.acked(ticket)
}

describe('SendWindow: sends in flight sized to the bandwidth-delay product (fake clock)', () => {
  it('starts at 64 sends, never above the ceiling, which defaults to half the broker\'s publish burst', () => {
    expect(new SendWindow(new FakeClock(), 100).size).toBe(64)
    expect(new SendWindow(new FakeClock(), 10).size).toBe(10)
    expect(SENDS_IN_FLIGHT).toBe(100)
  })

  it('keeps its start through a chat sent one message at a time: those acknowledgements measure the app, not the link', () => {
    const clock = new FakeClock()
    const window = new SendWindow(clock, 100)
    for (let i = 0; i < 20; i++) {
      single(clock, window, 200)
      clock.advance(2_000)
    }
    // 2 × (1 / 200 ms) × 200 ms would be 2 sends: a burst after the chat would crawl up from the floor.
    expect(window.size).toBe(64)
  })

  it('settles at twice the BDP on a 3G-like link: 5 ms a send, 200 ms round trip', () => {
    const clock = new FakeClock()
    const window = new SendWindow(clock, 100)
    const { sizes } = drain(clock, window, { serviceMs: 5, roundTripMs: 200 }, 400)
    // Least round trip: the first send, 5 + 200 ms. Rate: one send per 5 ms while the bottleneck
    // is busy. 2 × 0.2/ms × 205 ms = 82.
    expect(window.minRttMs).toBe(205)
    expect(window.size).toBe(82)
    // The first flight (64, app-limited by the window's start) measures less than the link, the
    // window still never falls below what it had measured: it only grows to the BDP.
    expect(sizes.at(-1)).toBe(82)
    expect(Math.min(...sizes.slice(sizes.indexOf(82)))).toBe(82)
  })

  it('shrinks below the start on a 2G-like link, so seconds of sends do not queue in the socket', () => {
    const clock = new FakeClock()
    const window = new SendWindow(clock, 100)
    const { mostInFlight } = drain(clock, window, { serviceMs: 60, roundTripMs: 1300 }, 200)
    // 2 × (1/60 per ms) × 1360 ms = 45.3 → 46.
    expect(window.size).toBe(46)
    expect(mostInFlight).toBe(64)
  })

  it('grows past its start when the link holds more, up to the ceiling and no further', () => {
    const clock = new FakeClock()
    const window = new SendWindow(clock, 100)
    const fast = drain(clock, window, { serviceMs: 1, roundTripMs: 100 }, 1000)
    // 2 × 1/ms × 101 ms = 202 sends would fill it; the broker's limit caps the window.
    expect(window.size).toBe(100)
    expect(fast.mostInFlight).toBe(100)
  })

  it('keeps at least 4 in flight however slow the link', () => {
    const clock = new FakeClock()
    const window = new SendWindow(clock, 100)
    drain(clock, window, { serviceMs: 1000, roundTripMs: 100 }, 80)
    // 2 × 0.001/ms × 1100 ms = 2.2 → 3, below the floor.
    expect(window.size).toBe(4)
  })

  it('keeps its window through a quiet chat: sends the app trickles out never lower it, however many', () => {
    const clock = new FakeClock()
    const window = new SendWindow(clock, 100)
    drain(clock, window, { serviceMs: 5, roundTripMs: 200 }, 400)
    expect(window.size).toBe(82)
    for (let i = 0; i < 30; i++) {
      clock.advance(20_000)
      single(clock, window, 205)
    }
    expect(window.size).toBe(82)
  })

  it('measures a backlog sent after a long pause from its own first send, not from the last acknowledgement before the pause', () => {
    const clock = new FakeClock()
    const window = new SendWindow(clock, 100)
    drain(clock, window, { serviceMs: 5, roundTripMs: 200 }, 400)
    clock.advance(60_000)
    const { sizes, mostInFlight } = drain(clock, window, { serviceMs: 5, roundTripMs: 200 }, 400)
    expect(mostInFlight).toBe(82)
    expect(Math.min(...sizes)).toBe(82)
  })

  it('starts a burst after a long paced conversation with the window it had, and never lets it fall below the BDP', () => {
    const clock = new FakeClock()
    const window = new SendWindow(clock, 100)
    drain(clock, window, { serviceMs: 5, roundTripMs: 200 }, 400)
    for (let i = 0; i < 30; i++) {
      clock.advance(3_000)
      single(clock, window, 205)
    }
    const { sizes, mostInFlight } = drain(clock, window, { serviceMs: 5, roundTripMs: 200 }, 400)
    expect(mostInFlight).toBe(82)
    // The burst's first round trip includes filling the pipe (it measures 2/3 of the link); the
    // window it leaves, 2 × 2/3 BDP, still keeps the link busy: 0.2/ms × 205 ms = 41 sends.
    expect(Math.min(...sizes)).toBeGreaterThanOrEqual(41)
    expect(window.size).toBe(82)
  })

  it('follows a link that got slower once its measurement is 10 round trips old, from sends the window held back', () => {
    const clock = new FakeClock()
    const window = new SendWindow(clock, 100)
    drain(clock, window, { serviceMs: 5, roundTripMs: 200 }, 400)
    // The window of 82 makes each round trip 82 × 20 ms long: 1000 sends take 12 of them.
    const { sizes } = drain(clock, window, { serviceMs: 20, roundTripMs: 200 }, 1000)
    expect(sizes.slice(0, 400).every((size) => size === 82)).toBe(true)
    // Same connection, so the least round trip stays 205 ms; 2 × 0.05/ms × 205 = 20.5 → 21.
    expect(window.size).toBe(21)
  })

  it('measures the round trip afresh on a new connection and ignores acknowledgements from the old one', () => {
    const clock = new FakeClock()
    const window = new SendWindow(clock, 100)
    drain(clock, window, { serviceMs: 5, roundTripMs: 200 }, 400)
    const stale = window.sent(false)
    window.connectionLost()
    clock.advance(50)
    window.acked(stale)
    expect(window.minRttMs).toBe(205)
    single(clock, window, 400)
    // The new connection's first sample replaces the old path's 205 ms even though it is longer.
    expect(window.minRttMs).toBe(400)
    expect(window.size).toBe(100)
  })
})
