import { getProfile } from '../profiles/index.js'
import type { RunRecord } from '../run/matrix.js'
import { serialiseMs } from '../run/metrics.js'
import type { ScenarioName } from '../run/types.js'

/** From the resume scenario's reconnect to the recipient phone being connected and caught up, ms. */
export function reconnectToSyncedMs(record: RunRecord): number | null {
  const marks = record.marks ?? {}
  return marks.reconnect !== undefined && marks.synced !== undefined ? marks.synced - marks.reconnect : null
}

/**
 * The flap goal's terms, for the outage that came off worst: from the link's return to the last
 * delivery of the messages sent while it was down, and the goal for as many — 1.5 round trips plus
 * their drain at the run's bytes per message, at the slower direction's pace.
 */
export function outageAfterReturn(record: RunRecord): { count: number; maxMs: number; goalMs: number } | null {
  const outages = record.outages ?? []
  const bytes = record.metrics?.bytesPerMessage
  if (record.timeline === undefined || bytes === undefined || bytes === null) return null
  const profile = getProfile(record.profile)
  const perMessageMs = Math.max(serialiseMs(bytes.up, profile.up.rateKbit), serialiseMs(bytes.down, profile.down.rateKbit))
  let worst: { count: number; maxMs: number; goalMs: number } | null = null
  outages.forEach((down, i) => {
    const up = outages.slice(i + 1).find((o) => o.state === 'up')
    if (down.state !== 'down' || up === undefined) return
    const sent = record.timeline!.filter((t) => t.sentMs >= down.atMs && t.sentMs < up.atMs)
    if (sent.length === 0) return
    const maxMs = Math.max(...sent.flatMap((t) => t.deliveredMs.filter((d): d is number => d !== null).map((d) => d - up.atMs)))
    const outage = { count: sent.length, maxMs, goalMs: 1.5 * (profile.up.delayMs + profile.down.delayMs) + sent.length * perMessageMs }
    if (worst === null || outage.maxMs / outage.goalMs > worst.maxMs / worst.goalMs) worst = outage
  })
  return worst
}

function ratio(value: number | null | undefined, of: number | null | undefined): string {
  return value === null || value === undefined || !of || !Number.isFinite(value) ? '–' : (value / of).toFixed(2)
}

/**
 * The report's headline (issue 17's goals are stated in these terms): per profile, how far each
 * weak-link flow is from the physical floor — burst, resume and flap p50 ÷ floor, the burst's last
 * message ÷ its drain floor, the outage's messages after the link's return against the flap goal —
 * and what a reconnect costs in round trips of the profile (both
 * one-way delays) until the phone is caught up.
 */
export function summaryTable(records: readonly RunRecord[]): string[] {
  const profiles = [...new Set(records.map((r) => r.profile))]
  const find = (profile: string, scenario: ScenarioName): RunRecord | undefined => records.find((r) => r.profile === profile && r.scenario === scenario && r.metrics)
  const rows = profiles.filter((p) => (['burst', 'resume', 'flap'] as const).some((s) => find(p, s)))
  if (rows.length === 0) return []
  const lines = [
    '| profile | burst p50 ÷ floor | burst p99 ÷ drain floor | resume p50 ÷ floor | flap p50 ÷ floor | flap: outage → last delivered after the return, ms (goal) | reconnect → synced, round trips |',
    '|---|---:|---:|---:|---:|---:|---:|'
  ]
  for (const id of rows) {
    const p50 = (scenario: ScenarioName): string => {
      const m = find(id, scenario)?.metrics
      return ratio(m?.latency?.p50Ms, m?.floorMs)
    }
    const burst = find(id, 'burst')?.metrics
    const resume = find(id, 'resume')
    const profile = getProfile(id)
    const synced = resume === undefined ? null : reconnectToSyncedMs(resume)
    const roundTrips = synced === null ? '–' : (synced / (profile.up.delayMs + profile.down.delayMs)).toFixed(1)
    const flap = find(id, 'flap')
    const outage = flap === undefined ? null : outageAfterReturn(flap)
    const afterReturn = outage === null ? '–' : `${Math.round(outage.maxMs)} (${Math.round(outage.goalMs)})`
    lines.push(`| \`${id}\` | ${p50('burst')} | ${ratio(burst?.latency?.p99Ms, burst?.drainFloorMs)} | ${p50('resume')} | ${p50('flap')} | ${afterReturn} | ${roundTrips} |`)
  }
  return lines
}
