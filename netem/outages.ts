import type { OutageSchedule } from './profiles/index.js'

/** A change of link state, as recorded by a link. */
export interface OutageEvent {
  state: 'up' | 'down'
  /** Milliseconds since the link was created. */
  atMs: number
  /** process.hrtime.bigint() at the change: CLOCK_MONOTONIC, comparable with lbprobe timestamps. */
  atNs: bigint
  cause: 'schedule' | 'manual'
}

/** mulberry32: a seeded generator in [0, 1), so a seed replays the same outages. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

export interface OutageCycle {
  /** How long the link stays up before this outage, ms. */
  upMs: number
  /** How long the outage lasts, ms. */
  downMs: number
}

/** The endless sequence of up/down periods a schedule produces for a seed. */
export function* outageCycles(schedule: OutageSchedule, random: () => number): Generator<OutageCycle> {
  const draw = (r: { min: number; max: number }): number => Math.round((r.min + random() * (r.max - r.min)) * 1000)
  for (;;) yield { upMs: draw(schedule.upS), downMs: draw(schedule.downS) }
}

/** The same schedule with every period multiplied by `factor` (shortened for calibration runs). */
export function scaleSchedule(schedule: OutageSchedule, factor: number): OutageSchedule {
  const scale = (r: { min: number; max: number }) => ({ min: r.min * factor, max: r.max * factor })
  return { upS: scale(schedule.upS), downS: scale(schedule.downS) }
}

/**
 * Drives a link through its schedule with timers. Timers are unref'd: an
 * outage schedule alone never keeps a process alive.
 */
export class OutageScheduler {
  readonly #cycles: Generator<OutageCycle>
  readonly #setLinkUp: (up: boolean) => Promise<void>
  #timer: NodeJS.Timeout | undefined
  #stopped = false

  constructor(schedule: OutageSchedule, seed: number, setLinkUp: (up: boolean) => Promise<void>) {
    this.#cycles = outageCycles(schedule, seededRandom(seed))
    this.#setLinkUp = setLinkUp
  }

  start(): void {
    this.#next()
  }

  stop(): void {
    this.#stopped = true
    clearTimeout(this.#timer)
  }

  #next(): void {
    const cycle = this.#cycles.next().value as OutageCycle
    this.#after(cycle.upMs, async () => {
      await this.#setLinkUp(false)
      this.#after(cycle.downMs, async () => {
        await this.#setLinkUp(true)
        this.#next()
      })
    })
  }

  #after(ms: number, step: () => Promise<void>): void {
    if (this.#stopped) return
    this.#timer = setTimeout(() => {
      if (this.#stopped) return
      // A failed switch means the link is closing; the schedule just ends.
      step().catch(() => this.stop())
    }, ms)
    this.#timer.unref()
  }
}
