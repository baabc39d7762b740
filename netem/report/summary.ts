import { getProfile } from '../profiles/index.js'
import type { RunRecord } from '../run/matrix.js'
import type { ScenarioName } from '../run/types.js'

/** From the resume scenario's reconnect to the recipient phone being connected and caught up, ms. */
export function reconnectToSyncedMs(record: RunRecord): number | null {
  const marks = record.marks ?? {}
  return marks.reconnect !== undefined && marks.synced !== undefined ? marks.synced - marks.reconnect : null
}

function ratio(value: number | null | undefined, of: number | null | undefined): string {
  return value === null || value === undefined || !of || !Number.isFinite(value) ? '–' : (value / of).toFixed(2)
}

/**
 * The report's headline (issue 17's goals are stated in these terms): per profile, how far each
 * weak-link flow is from the physical floor — burst, resume and flap p50 ÷ floor, the burst's last
 * message ÷ its drain floor — and what a reconnect costs in round trips of the profile (both
 * one-way delays) until the phone is caught up.
 */
export function summaryTable(records: readonly RunRecord[]): string[] {
  const profiles = [...new Set(records.map((r) => r.profile))]
  const find = (profile: string, scenario: ScenarioName): RunRecord | undefined => records.find((r) => r.profile === profile && r.scenario === scenario && r.metrics)
  const rows = profiles.filter((p) => (['burst', 'resume', 'flap'] as const).some((s) => find(p, s)))
  if (rows.length === 0) return []
  const lines = [
    '| profile | burst p50 ÷ floor | burst p99 ÷ drain floor | resume p50 ÷ floor | flap p50 ÷ floor | reconnect → synced, round trips |',
    '|---|---:|---:|---:|---:|---:|'
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
    lines.push(`| \`${id}\` | ${p50('burst')} | ${ratio(burst?.latency?.p99Ms, burst?.drainFloorMs)} | ${p50('resume')} | ${p50('flap')} | ${roundTrips} |`)
  }
  return lines
}
