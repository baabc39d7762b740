import type { Profile } from '../profiles/index.js'
import { mediaFloors } from './media-floor.js'
import type { ScenarioRun } from './runner.js'
import type { PhoneReport, TrafficWindow } from './types.js'

export interface LatencyStats {
  count: number
  minMs: number
  p50Ms: number
  p90Ms: number
  p99Ms: number
  maxMs: number
}

export interface ScenarioMetrics {
  /** Messages the phones sent. */
  messages: number
  /** (message, recipient) pairs that should have been delivered. */
  expected: number
  /** Of those, delivered at least once. */
  delivered: number
  deliveredPct: number
  /** Sends that never got their stored-ack (✓). */
  unconfirmed: number
  /** Pairs whose message was stored (✓) but never reached that recipient. */
  lost: number
  /** Messages handed to an app a second time (same id, same recipient). */
  duplicates: number
  /** Deliveries whose cseq (per sender and conversation) or inbox seq went backwards. */
  orderViolations: number
  /** First-delivery latency: recipient's arrival minus the send (or, for a recipient that was offline, its reconnect). */
  latency: LatencyStats | null
  /** The same, per phase of the scenario (e.g. quiet / storm). */
  phases: Record<string, LatencyStats | null>
  /** Bytes on the wire per message, counted at the link over the scenario's measured windows. */
  bytesPerMessage: { up: number; down: number } | null
  packetsPerMessage: { up: number; down: number } | null
  /**
   * The physical floor of one message: both one-way delays plus serialising
   * its bytes (the measured bytes per message) on the up and on the down link.
   */
  floorMs: number | null
  /** For a burst of N: the floor of its last message, when the N messages queue at the slower direction. */
  drainFloorMs: number | null
  /** Errors the phones' SDK reported (not tied to a send). */
  errors: number
  /** True when everything arrived, once, in order. */
  ok: boolean
}

/** Nearest-rank percentile of an ascending list. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN
  const rank = Math.ceil((p / 100) * sorted.length)
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1] ?? Number.NaN
}

export function latencyStats(values: readonly number[]): LatencyStats | null {
  if (values.length === 0) return null
  const sorted = [...values].sort((a, b) => a - b)
  return {
    count: sorted.length,
    minMs: sorted[0] ?? Number.NaN,
    p50Ms: percentile(sorted, 50),
    p90Ms: percentile(sorted, 90),
    p99Ms: percentile(sorted, 99),
    maxMs: sorted[sorted.length - 1] ?? Number.NaN
  }
}

/** Latency of each first delivery, with its phase. */
export function firstDeliveryLatencies(report: PhoneReport): Array<{ index: number; phase: string; sentMs: number; atMs: number; latencyMs: number }> {
  const out: Array<{ index: number; phase: string; sentMs: number; atMs: number; latencyMs: number }> = []
  for (const d of report.deliveries) {
    const sent = report.sent[d.index]
    if (d.duplicate || sent === undefined) continue
    const from = Math.max(sent.sentMs, sent.availableMs ?? sent.sentMs)
    out.push({ index: d.index, phase: sent.phase, sentMs: sent.sentMs, atMs: d.atMs, latencyMs: d.atMs - from })
  }
  return out
}

function windowTotals(windows: readonly TrafficWindow[]): { messages: number; up: number; down: number; upPackets: number; downPackets: number } {
  const total = { messages: 0, up: 0, down: 0, upPackets: 0, downPackets: 0 }
  for (const w of windows) {
    total.messages += w.messages
    total.up += w.after.upBytes - w.before.upBytes
    total.down += w.after.downBytes - w.before.downBytes
    total.upPackets += w.after.upPackets - w.before.upPackets
    total.downPackets += w.after.downPackets - w.before.downPackets
  }
  return total
}

/** kbit/s are bits per ms: bytes × 8 / kbit/s is milliseconds. */
export function serialiseMs(bytes: number, rateKbit: number): number {
  return (bytes * 8) / rateKbit
}

function floors(profile: Profile, windows: readonly TrafficWindow[], burstSize: number | null): { floorMs: number | null; drainFloorMs: number | null } {
  const t = windowTotals(windows)
  if (t.messages === 0) return { floorMs: null, drainFloorMs: null }
  const upMs = serialiseMs(t.up / t.messages, profile.up.rateKbit)
  const downMs = serialiseMs(t.down / t.messages, profile.down.rateKbit)
  const floorMs = profile.up.delayMs + profile.down.delayMs + upMs + downMs
  const drainFloorMs = burstSize === null ? null : profile.up.delayMs + profile.down.delayMs + burstSize * Math.max(upMs, downMs) + Math.min(upMs, downMs)
  return { floorMs, drainFloorMs }
}

export function summarize(run: ScenarioRun): ScenarioMetrics {
  const { report, plan, profile } = run
  const expected = report.sent.reduce((n, s) => n + s.recipients.length, 0)
  const firsts = firstDeliveryLatencies(report)
  const got = new Set(report.deliveries.map((d) => `${d.index}>${d.to}`))
  const delivered = got.size
  let lost = 0
  for (const s of report.sent) if (s.storedMs !== undefined) for (const to of s.recipients) if (!got.has(`${s.index}>${to}`)) lost++
  const unconfirmed = report.sent.filter((s) => s.storedMs === undefined).length
  const duplicates = report.deliveries.filter((d) => d.duplicate).length
  const orderViolations = report.deliveries.filter((d) => d.outOfOrder).length

  const phases: Record<string, LatencyStats | null> = {}
  for (const phase of new Set(report.sent.map((s) => s.phase))) {
    phases[phase] = latencyStats(firsts.filter((f) => f.phase === phase).map((f) => f.latencyMs))
  }
  // Typing: the headline is the storm; the floor comes from the quiet phase, whose bytes are the messages' own.
  const headline = plan.scenario === 'typing' ? firsts.filter((f) => f.phase === 'storm') : firsts
  const floorWindows = plan.scenario === 'typing' ? report.windows.filter((w) => w.phase === 'quiet') : report.windows
  const burstSize = plan.intervalMs === 0 ? (plan.scenario === 'resume' ? Math.ceil(plan.messages / 2) : plan.messages) : null
  const t = windowTotals(report.windows)
  const perMessage = (value: number): number => value / t.messages
  // Media: a photo is delivered when the recipient holds its blob; its floor is the blob's, both ways.
  const floor = plan.scenario === 'media' ? { floorMs: mediaFloors(profile, plan.photoBytes).recipientMs, drainFloorMs: null } : floors(profile, floorWindows, burstSize)
  return {
    messages: report.sent.length,
    expected,
    delivered,
    deliveredPct: expected === 0 ? 0 : (100 * delivered) / expected,
    unconfirmed,
    lost,
    duplicates,
    orderViolations,
    latency: latencyStats(headline.map((f) => f.latencyMs)),
    phases,
    bytesPerMessage: t.messages === 0 ? null : { up: perMessage(t.up), down: perMessage(t.down) },
    packetsPerMessage: t.messages === 0 ? null : { up: perMessage(t.upPackets), down: perMessage(t.downPackets) },
    ...floor,
    errors: report.errors.length,
    ok: expected > 0 && delivered === expected && unconfirmed === 0 && duplicates === 0 && orderViolations === 0
  }
}
