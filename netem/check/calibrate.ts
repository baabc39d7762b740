import type { LinkCounters, LinkMode } from '../backends/types.js'
import { createLink, type Link } from '../link.js'
import { scaleSchedule } from '../outages.js'
import type { OutageSchedule, Profile } from '../profiles/index.js'
import { measureRtt, measureStreams, type StreamMeasurement } from './measure.js'
import {
  DIRECTIONS,
  OUTAGE_PROBE_IP_SIZE,
  OUTAGE_PROBE_PPS,
  OUTAGE_SCALE,
  planCalibration,
  serialisationMs,
  type Direction,
  type StreamPlan
} from './plan.js'

/** What "calibrated" means (issue 3): RTT and rates within ±10 %, loss within ±1 percentage point. */
export const TOLERANCE = { rttPct: 10, ratePct: 10, lossPp: 1 } as const

export interface RttCheck {
  profileMs: number
  expectedMs: number
  medianMs: number
  minMs: number
  maxMs: number
  samples: number
  errorPct: number
  ok: boolean
}

export interface RateCheck {
  profileKbit: number
  measuredKbit: number | null
  errorPct: number | null
  ok: boolean
}

export interface LossCheck {
  profilePct: number
  measuredPct: number
  sent: number
  received: number
  /** 95 % Wilson interval of the measured loss, percent. */
  ci95Pct: [number, number]
  errorPp: number
  ok: boolean
}

export interface OutageCheck {
  scheduledMs: number
  /** Silence seen by a stream in each direction, corrected for its one-way delay; null if none matched. */
  measuredMs: Record<Direction, number | null>
  ok: boolean
}

export interface OutageReport {
  schedule: OutageSchedule
  /** The schedule was observed shortened by this factor. */
  scale: number
  observedS: number
  toleranceMs: number
  outages: OutageCheck[]
  /** The outage link's counters when it closed (outageDropped: packets lost to outages). */
  counters: LinkCounters
  ok: boolean
}

export interface CalibrationResult {
  profile: { id: string; title: string }
  mode: LinkMode
  modeReason: string
  seed: number
  durationS: number
  rtt: RttCheck
  rate: Record<Direction, RateCheck>
  loss: Record<Direction, LossCheck>
  outages: OutageReport | null
  /** The calibration link's counters when it closed. */
  counters: LinkCounters
  ok: boolean
}

export interface CalibrateOptions {
  seed?: number
  mode?: 'auto' | LinkMode
  log?: (line: string) => void
}

function wilson(failures: number, n: number): [number, number] {
  if (n === 0) return [0, 100]
  const z = 1.96
  const p = failures / n
  const centre = (p + (z * z) / (2 * n)) / (1 + (z * z) / n)
  const half = (z * Math.sqrt((p * (1 - p)) / n + (z * z) / (4 * n * n))) / (1 + (z * z) / n)
  return [Math.max(0, centre - half) * 100, Math.min(1, centre + half) * 100]
}

function rateCheck(profileKbit: number, m: StreamMeasurement): RateCheck {
  if (m.rateKbit === null) return { profileKbit, measuredKbit: null, errorPct: null, ok: false }
  const errorPct = ((m.rateKbit - profileKbit) / profileKbit) * 100
  return { profileKbit, measuredKbit: m.rateKbit, errorPct, ok: Math.abs(errorPct) <= TOLERANCE.ratePct }
}

function lossCheck(profilePct: number, m: StreamMeasurement): LossCheck {
  const lost = m.sent - m.received
  const measuredPct = m.sent > 0 ? (lost / m.sent) * 100 : 100
  const errorPp = measuredPct - profilePct
  return {
    profilePct,
    measuredPct,
    sent: m.sent,
    received: m.received,
    ci95Pct: wilson(lost, m.sent),
    errorPp,
    ok: m.sent > 0 && Math.abs(errorPp) <= TOLERANCE.lossPp
  }
}

/** Runs `use` on the link, then closes it whatever happened. */
async function withClose<T>(link: Link, use: () => Promise<T>): Promise<{ value: T; counters: LinkCounters }> {
  let value: T
  try {
    value = await use()
  } catch (err) {
    await link.close().catch(() => undefined)
    throw err
  }
  return { value, counters: await link.close() }
}

/**
 * Watches a shortened outage schedule with two 50 packet/s streams and
 * compares each silence with the outage the link logged.
 */
async function checkOutages(profile: Profile, schedule: OutageSchedule, options: CalibrateOptions, seed: number): Promise<OutageReport> {
  const scaled = scaleSchedule(schedule, OUTAGE_SCALE)
  // Two full cycles at their longest, so at least one outage is always seen whole.
  const observeMs = Math.ceil(2 * (scaled.upS.max + scaled.downS.max) * 1000) + 1000
  const intervalMs = 1000 / OUTAGE_PROBE_PPS
  const stream = (direction: Direction): StreamPlan => ({
    ipSize: OUTAGE_PROBE_IP_SIZE,
    count: Math.ceil((observeMs / 1000) * OUTAGE_PROBE_PPS),
    sendBps: OUTAGE_PROBE_PPS * OUTAGE_PROBE_IP_SIZE * 8,
    firstMs: profile[direction].delayMs + 3000,
    idleMs: 0
  })
  const maxJitter = Math.max(profile.down.jitterMs, profile.up.jitterMs)
  // The silence starts after the last packet before the outage and ends with the first after it.
  const toleranceMs = 2 * intervalMs + 2 * maxJitter + 10
  const link = await createLink(profile, { outages: scaled, seed, mode: options.mode, name: `${profile.id}-outages` })
  const observed = await withClose(link, async () => {
    const hold = Math.max(profile.down.delayMs, profile.up.delayMs) + 500
    const streams = await measureStreams(link, { down: stream('down'), up: stream('up') }, { gapMs: 5 * intervalMs, holdMs: hold })
    return { streams, events: link.outageLog() }
  })
  const { streams, events } = observed.value

  const outages: OutageCheck[] = []
  for (let i = 0; i + 1 < events.length; i++) {
    const down = events[i]
    const up = events[i + 1]
    if (!down || !up || down.state !== 'down' || up.state !== 'up' || up.atMs > observeMs - 200) continue
    const scheduledMs = Number(up.atNs - down.atNs) / 1e6
    const measured = (direction: Direction): number | null => {
      const oneWayNs = BigInt(Math.round((profile[direction].delayMs + serialisationMs(OUTAGE_PROBE_IP_SIZE, profile[direction].rateKbit)) * 1e6))
      const gap = streams[direction].gapsNs.find(([before, after]) => before <= up.atNs && after >= down.atNs)
      return gap ? Number(gap[1] - oneWayNs - gap[0]) / 1e6 : null
    }
    const measuredMs = { down: measured('down'), up: measured('up') }
    const ok = DIRECTIONS.every((d) => {
      const m = measuredMs[d]
      return m !== null && Math.abs(m - scheduledMs) <= toleranceMs
    })
    outages.push({ scheduledMs, measuredMs, ok })
  }
  return {
    schedule,
    scale: OUTAGE_SCALE,
    observedS: observeMs / 1000,
    toleranceMs,
    outages,
    counters: observed.counters,
    ok: outages.length > 0 && outages.every((o) => o.ok)
  }
}

/**
 * Measures a fresh link for `profile` with lbprobe: RTT with 20 pings, the
 * rate each way by saturating the bottleneck, loss each way over ≥ 1000
 * packets, and for a profile with outages, the outages on a shortened schedule.
 * Calibration runs without outages so they cannot distort the other numbers.
 */
export async function calibrate(profile: Profile, options: CalibrateOptions = {}): Promise<CalibrationResult> {
  const started = process.hrtime.bigint()
  const plan = planCalibration(profile)
  const link = await createLink(profile, { outages: 'none', seed: options.seed, mode: options.mode, log: options.log })
  const { value: measured, counters } = await withClose(link, async () => ({
    rtt: await measureRtt(link, plan.rtt),
    rate: await measureStreams(link, plan.rate),
    loss: await measureStreams(link, plan.loss)
  }))
  const rttMeasured = measured.rtt
  const rateMeasured = measured.rate
  const lossMeasured = measured.loss
  const errorPct = ((rttMeasured.medianMs - plan.rtt.expectedMs) / plan.rtt.expectedMs) * 100
  const rtt: RttCheck = {
    profileMs: plan.rtt.profileMs,
    expectedMs: plan.rtt.expectedMs,
    medianMs: rttMeasured.medianMs,
    minMs: rttMeasured.minMs,
    maxMs: rttMeasured.maxMs,
    samples: rttMeasured.received,
    errorPct,
    ok: rttMeasured.received > 0 && Math.abs(errorPct) <= TOLERANCE.rttPct
  }
  const rate = {
    down: rateCheck(profile.down.rateKbit, rateMeasured.down),
    up: rateCheck(profile.up.rateKbit, rateMeasured.up)
  }
  const loss = {
    down: lossCheck(profile.down.lossPct, lossMeasured.down),
    up: lossCheck(profile.up.lossPct, lossMeasured.up)
  }
  const outages = profile.outages ? await checkOutages(profile, profile.outages, options, link.seed) : null
  const ok = rtt.ok && DIRECTIONS.every((d) => rate[d].ok && loss[d].ok) && (outages?.ok ?? true)
  return {
    profile: { id: profile.id, title: profile.title },
    mode: link.mode,
    modeReason: link.modeReason,
    seed: link.seed,
    durationS: Number(process.hrtime.bigint() - started) / 1e9,
    rtt,
    rate,
    loss,
    outages,
    counters,
    ok
  }
}
