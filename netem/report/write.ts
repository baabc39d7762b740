import { mkdir, readdir, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { RunRecord } from '../run/matrix.js'
import { renderReport, type PlotFiles, type ReportMeta } from './markdown.js'
import { bytesPerMessage, flapTimeline, latencyCdf } from './plots.js'

/** Plot files this writer owns: replaced on every run, so a profile dropped from the matrix leaves no stale plot. */
const OWN_PLOT = /^(latency-cdf-.+|flap-timeline-.+|bytes-per-message)\.svg$/

/** One run per line: compact, and a re-run shows up in a diff run by run. */
function resultsJson(records: readonly RunRecord[], meta: ReportMeta): string {
  const head = JSON.stringify({ ...meta, startedAt: meta.startedAt.toISOString() }).slice(0, -1)
  return `${head},"runs":[\n${records.map((r) => JSON.stringify(r)).join(',\n')}\n]}\n`
}

/**
 * Writes report.md, results.json (everything measured, for re-plotting) and
 * the SVG plots into `dir`. Other files there (docs/netem/README.md) are left alone.
 */
export async function writeReport(dir: string, records: readonly RunRecord[], meta: ReportMeta): Promise<string[]> {
  await mkdir(dir, { recursive: true })
  for (const name of await readdir(dir)) if (OWN_PLOT.test(name)) await rm(join(dir, name))
  const files: Record<string, string> = {}
  const plots: PlotFiles = { cdf: {}, bytes: 'bytes-per-message.svg', flap: {} }
  files[plots.bytes] = bytesPerMessage(records)
  for (const profile of new Set(records.map((r) => r.profile))) {
    if (records.some((r) => r.profile === profile && (r.latenciesMs?.length ?? 0) > 0)) {
      plots.cdf[profile] = `latency-cdf-${profile}.svg`
      files[plots.cdf[profile]] = latencyCdf(profile, records)
    }
    const flap = records.find((r) => r.profile === profile && r.scenario === 'flap' && r.timeline)
    if (flap) {
      plots.flap[profile] = `flap-timeline-${profile}.svg`
      files[plots.flap[profile]] = flapTimeline(flap)
    }
  }
  files['report.md'] = renderReport(records, meta, plots)
  files['results.json'] = resultsJson(records, meta)
  for (const [name, content] of Object.entries(files)) await writeFile(join(dir, name), content)
  return Object.keys(files).map((name) => join(dir, name))
}
