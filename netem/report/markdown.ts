import { getProfile } from '../profiles/index.js'
import type { RunRecord } from '../run/matrix.js'
import { mediaTable } from './media.js'
import { reconnectToSyncedMs, summaryTable } from './summary.js'

export interface ReportMeta {
  command: string
  startedAt: Date
  durationMs: number
  seed: number
  machine: string
}

/** The plot files a report links to, by what they show. */
export interface PlotFiles {
  cdf: Record<string, string>
  bytes: string
  flap: Record<string, string>
}

const ms = (v: number | null | undefined): string => (v === null || v === undefined || !Number.isFinite(v) ? '–' : String(Math.round(v)))
const bytes = (v: number | undefined): string => (v === undefined ? '–' : String(Math.round(v)))

function pct(v: number): string {
  return v === 100 ? '100 %' : `${v.toFixed(1)} %`
}

function profileLine(id: string): string {
  const p = getProfile(id)
  const outages = p.outages ? `; down ${p.outages.downS.min}–${p.outages.downS.max} s after ${p.outages.upS.min}–${p.outages.upS.max} s up` : ''
  return `${p.down.rateKbit}/${p.up.rateKbit} kbit/s, ${p.down.delayMs}/${p.up.delayMs} ms, loss ${p.down.lossPct} %${outages}`
}

/** The one-row-per-run table (also what `lowband netem run` prints). */
export function runsTable(records: readonly RunRecord[]): string[] {
  const lines = [
    '| profile | scenario | msgs | delivered | p50 / p99 ms | floor ms | p50 ÷ floor | drain floor ms | up B/msg | down B/msg | dup | order | lost | verdict |',
    '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|'
  ]
  for (const r of records) {
    const m = r.metrics
    if (!m) {
      lines.push(`| \`${r.profile}\` | ${r.scenario} | – | – | – | – | – | – | – | – | – | – | – | run failed: ${(r.error ?? '').split('\n')[0]?.replace(/\|/g, '/') ?? ''} |`)
      continue
    }
    const ratio = m.latency && m.floorMs ? (m.latency.p50Ms / m.floorMs).toFixed(2) : '–'
    const lost = m.lost + m.unconfirmed
    lines.push(
      `| \`${r.profile}\` | ${r.scenario} | ${m.messages} | ${pct(m.deliveredPct)} | ${ms(m.latency?.p50Ms)} / ${ms(m.latency?.p99Ms)} | ${ms(m.floorMs)} | ${ratio} | ${ms(m.drainFloorMs)} | ${bytes(m.bytesPerMessage?.up)} | ${bytes(m.bytesPerMessage?.down)} | ${m.duplicates} | ${m.orderViolations} | ${lost} | ${m.ok ? 'ok' : '**not ok**'} |`
    )
  }
  return lines
}

function typingTable(records: readonly RunRecord[]): string[] {
  const rows = records.filter((r) => r.scenario === 'typing' && r.metrics)
  if (rows.length === 0) return []
  const lines = [
    '| profile | signals/s | signals sent | quiet p50 / p99 ms | storm p50 / p99 ms | storm ÷ quiet (p50) | B/msg up / down, quiet → storm |',
    '|---|---:|---:|---:|---:|---:|---|'
  ]
  const perMessage = (r: RunRecord, phase: string): string => {
    const w = r.windows?.find((x) => x.phase === phase)
    return w && w.messages > 0 ? `${Math.round(w.upBytes / w.messages)} / ${Math.round(w.downBytes / w.messages)}` : '–'
  }
  for (const r of rows) {
    const quiet = r.metrics?.phases.quiet
    const storm = r.metrics?.phases.storm
    const ratio = quiet && storm ? (storm.p50Ms / quiet.p50Ms).toFixed(2) : '–'
    lines.push(
      `| \`${r.profile}\` | ${r.facts?.typingPerSecond ?? '–'} | ${r.facts?.typingSignals ?? '–'} | ${ms(quiet?.p50Ms)} / ${ms(quiet?.p99Ms)} | ${ms(storm?.p50Ms)} / ${ms(storm?.p99Ms)} | ${ratio} | ${perMessage(r, 'quiet')} → ${perMessage(r, 'storm')} |`
    )
  }
  return lines
}

function resumeTable(records: readonly RunRecord[]): string[] {
  const rows = records.filter((r) => r.scenario === 'resume' && r.metrics && r.marks)
  if (rows.length === 0) return []
  const lines = ['| profile | offline for ms | reconnect → synced ms | reconnect → last message ms | live p50 ms | after-resume p50 ms |', '|---|---:|---:|---:|---:|---:|']
  for (const r of rows) {
    const marks = r.marks ?? {}
    const reconnect = marks.reconnect
    const last = Math.max(...(r.timeline ?? []).filter((t) => t.sentMs >= (marks.offline ?? Infinity)).flatMap((t) => t.deliveredMs.filter((d): d is number => d !== null)))
    lines.push(
      `| \`${r.profile}\` | ${ms(reconnect !== undefined && marks.offline !== undefined ? reconnect - marks.offline : null)} | ${ms(reconnectToSyncedMs(r))} | ${ms(reconnect !== undefined ? last - reconnect : null)} | ${ms(r.metrics?.phases.live?.p50Ms)} | ${ms(r.metrics?.phases.offline?.p50Ms)} |`
    )
  }
  return lines
}

function flapTable(records: readonly RunRecord[]): string[] {
  const rows = records.filter((r) => r.scenario === 'flap' && r.metrics)
  if (rows.length === 0) return []
  const lines = ['| profile | outage | link down ms | messages | p50 ms | max ms | delivered |', '|---|---|---:|---:|---:|---:|---:|']
  for (const r of rows) {
    const plan = r.plan.scenario === 'flap' ? r.plan.outage : null
    let down = 0
    let downAt: number | null = null
    for (const e of r.outages ?? []) {
      if (e.state === 'down') downAt = e.atMs
      else if (downAt !== null) {
        down += e.atMs - downAt
        downAt = null
      }
    }
    const m = r.metrics
    lines.push(`| \`${r.profile}\` | ${plan?.kind === 'forced' ? 'forced, once' : 'profile schedule'} | ${ms(down)} | ${m?.messages ?? '–'} | ${ms(m?.latency?.p50Ms)} | ${ms(m?.latency?.maxMs)} | ${m ? pct(m.deliveredPct) : '–'} |`)
  }
  return lines
}

function summarySection(records: readonly RunRecord[]): string[] {
  const table = summaryTable(records)
  if (table.length === 0) return []
  return [
    '## Summary',
    '',
    'How far each weak-link flow is from the physical floor (columns as in [All runs](#all-runs); 1.00 is the floor). Goals (issue 17): a burst\'s last message ≤ 1.3× its drain floor; after a reconnect the last queued message ≤ drain floor + 1 round trip; messages sent through an outage delivered within 1.5 round trips + drain after the link returns (the flap column: the last of them, for the outage that came off worst, and that goal in brackets; the phones are told when the link returns, as the OS tells an app).',
    '',
    ...table,
    ''
  ]
}

/** The report: what ran, the matrix table, per-scenario detail, and the plots. */
export function renderReport(records: readonly RunRecord[], meta: ReportMeta, plots: PlotFiles): string {
  const profiles = [...new Set(records.map((r) => r.profile))]
  const failed = records.filter((r) => !r.metrics?.ok)
  const out: string[] = [
    '# lowband under emulated mobile links',
    '',
    `Generated by \`${meta.command}\` on ${meta.startedAt.toISOString().slice(0, 10)} in ${Math.round(meta.durationMs / 1000)} s (${meta.machine}; seed ${meta.seed}).`,
    'How the runs work and how to read the columns: [README.md](README.md#scenarios).',
    '',
    `**${records.length - failed.length} of ${records.length} runs delivered every message once, in order.**${failed.length ? ` Not ok: ${failed.map((r) => `${r.profile} × ${r.scenario}`).join(', ')}.` : ''}`,
    '',
    ...summarySection(records),
    '## Profiles',
    '',
    '| profile | down/up rate, down/up delay, loss |',
    '|---|---|',
    ...profiles.map((p) => `| \`${p}\` | ${profileLine(p)} |`),
    '',
    '## All runs',
    '',
    '- **delivered**: (message, recipient) pairs handed to the recipient app, of those sent.',
    "- **p50 / p99**: send → recipient app, one clock. For `resume`, messages stored while the recipient was away count from its reconnect; for `typing`, the storm phase.",
    "- **floor**: both one-way delays plus the measured bytes per message serialised at each direction's rate — the best one message could do. **drain floor**: for a burst of N, the last message's floor when all N queue at the slower direction.",
    '- **B/msg**: IP bytes counted at the link in each direction (all phones together: acks, receipts, TCP) divided by messages sent.',
    '- **dup**: a message id handed to the same app twice. **order**: a cseq (per sender and conversation) or inbox seq going backwards. **lost**: stored (✓) but never delivered, plus sends never confirmed.',
    '',
    ...runsTable(records),
    ''
  ]
  const sections: Array<[string, string[]]> = [
    ['Typing storm beside messages', typingTable(records)],
    ['Resume after being offline', resumeTable(records)],
    ['Sending through outages', flapTable(records)],
    ['Media: a photo up to object storage and down to the recipient', mediaTable(records)]
  ]
  for (const [title, table] of sections) if (table.length > 0) out.push(`## ${title}`, '', ...table, '')

  out.push('## Plots', '', `![bytes per message](${plots.bytes})`, '')
  for (const p of profiles) {
    if (plots.cdf[p]) out.push(`### \`${p}\``, '', `![${p} latency CDF](${plots.cdf[p]})`, '')
    if (plots.flap[p]) out.push(`![${p} flap timeline](${plots.flap[p]})`, '')
  }
  const errors = records.filter((r) => r.error)
  if (errors.length > 0) {
    out.push('## Run failures', '')
    for (const r of errors) out.push(`- \`${r.profile}\` × ${r.scenario}: ${(r.error ?? '').split('\n')[0] ?? ''}`)
    out.push('')
  }
  return out.join('\n')
}
