import type { LinkMode } from '../backends/types.js'
import type { Profile } from '../profiles/index.js'
import { firstDeliveryLatencies, summarize, type ScenarioMetrics } from './metrics.js'
import { planFor } from './plan.js'
import { Progress } from './progress.js'
import { runScenario, type OutageMark } from './runner.js'
import type { ScenarioName, ScenarioPlan } from './types.js'

/** One cell of the matrix, as the report and results.json keep it. */
export interface RunRecord {
  profile: string
  scenario: ScenarioName
  plan: ScenarioPlan
  seed: number
  mode?: LinkMode
  durationMs: number
  /** Why the run itself failed (the link, the broker, a phone that could not connect). */
  error?: string
  metrics?: ScenarioMetrics
  /** Headline first-delivery latencies, ascending (for the CDF). */
  latenciesMs?: number[]
  /** Deliveries the headline latencies are out of (the CDF of a run that lost some stays below 100 %). */
  latencyOutOf?: number
  /** Per message: when it was sent and when it first reached each recipient (null: never). */
  timeline?: Array<{ index: number; sentMs: number; deliveredMs: Array<number | null> }>
  outages?: OutageMark[]
  /** Bytes counted at the link per measured window of the scenario. */
  windows?: Array<{ phase: string; messages: number; upBytes: number; downBytes: number }>
  marks?: Record<string, number>
  facts?: Record<string, number>
}

export interface MatrixOptions {
  seed: number
  mode: 'auto' | LinkMode
  progress: Progress
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10
}

/** Runs one cell; a failure of the run becomes a record with `error` so the rest of the matrix goes on. */
export async function runCell(profile: Profile, scenario: ScenarioName, options: MatrixOptions): Promise<RunRecord> {
  const plan = planFor(profile, scenario)
  const started = Date.now()
  options.progress.start(`${profile.id} × ${scenario}`)
  try {
    const run = await runScenario(profile, plan, {
      seed: options.seed,
      mode: options.mode,
      onProgress: (p) => options.progress.update(p)
    })
    const metrics = summarize(run)
    const latencies = firstDeliveryLatencies(run.report)
    const headline = plan.scenario === 'typing' ? latencies.filter((l) => l.phase === 'storm') : latencies
    const record: RunRecord = {
      profile: profile.id,
      scenario,
      plan,
      seed: run.seed,
      mode: run.mode,
      durationMs: run.durationMs,
      metrics,
      latenciesMs: headline.map((l) => round(l.latencyMs)).sort((a, b) => a - b),
      latencyOutOf: run.report.sent.filter((s) => plan.scenario !== 'typing' || s.phase === 'storm').reduce((n, s) => n + s.recipients.length, 0),
      timeline: run.report.sent.map((s) => ({
        index: s.index,
        sentMs: round(s.sentMs),
        deliveredMs: s.recipients.map((to) => {
          const d = run.report.deliveries.find((x) => x.index === s.index && x.to === to && !x.duplicate)
          return d === undefined ? null : round(d.atMs)
        })
      })),
      outages: run.outages.map((o) => ({ state: o.state, atMs: round(o.atMs) })),
      windows: run.report.windows.map((w) => ({
        phase: w.phase,
        messages: w.messages,
        upBytes: w.after.upBytes - w.before.upBytes,
        downBytes: w.after.downBytes - w.before.downBytes
      })),
      marks: run.report.marks,
      facts: run.report.facts
    }
    options.progress.finish(oneLine(record))
    return record
  } catch (error) {
    const record: RunRecord = { profile: profile.id, scenario, plan, seed: options.seed, durationMs: Date.now() - started, error: (error as Error).message }
    options.progress.finish(`FAILED: ${record.error ?? ''}`)
    return record
  }
}

/** Every scenario on every profile given, one after the other (runs share two cores and must not disturb each other's timing). */
export async function runMatrix(profiles: readonly Profile[], scenarios: readonly ScenarioName[], options: Omit<MatrixOptions, 'progress'>): Promise<RunRecord[]> {
  const progress = new Progress(profiles.length * scenarios.length)
  const records: RunRecord[] = []
  try {
    for (const profile of profiles) for (const scenario of scenarios) records.push(await runCell(profile, scenario, { ...options, progress }))
  } finally {
    progress.close()
  }
  return records
}

/** "50/50 delivered, p50 674 ms (floor 196), 0 dup, 0 order" */
export function oneLine(record: RunRecord): string {
  const m = record.metrics
  if (!m) return `FAILED: ${record.error ?? 'no result'}`
  const latency = m.latency ? `p50 ${Math.round(m.latency.p50Ms)} ms, p99 ${Math.round(m.latency.p99Ms)} ms` : 'no latency'
  const floor = m.floorMs === null ? '' : ` (floor ${Math.round(m.floorMs)} ms)`
  const lost = m.lost + m.unconfirmed > 0 ? `, ${m.lost} lost, ${m.unconfirmed} unconfirmed` : ''
  return `${m.delivered}/${m.expected} delivered, ${latency}${floor}, ${m.duplicates} dup, ${m.orderViolations} order${lost}${m.ok ? '' : ' — NOT OK'}`
}
