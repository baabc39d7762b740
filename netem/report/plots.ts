import type { RunRecord } from '../run/matrix.js'
import { SCENARIOS } from '../run/types.js'
import { axes, colour, legend, linearScale, linearTicks, logScale, logTicks, SvgDoc, type Frame } from './svg.js'

const msLabel = (v: number): string => (v >= 1000 ? `${v / 1000} s` : `${v} ms`)
/** Rounded for a legend: 672 ms, 2.7 s, 27 s. */
const msShort = (v: number): string => (v >= 10_000 ? `${Math.round(v / 1000)} s` : v >= 1000 ? `${(v / 1000).toFixed(1)} s` : `${Math.round(v)} ms`)

function scenarioColour(scenario: string): string {
  return colour(Math.max(0, (SCENARIOS as readonly string[]).indexOf(scenario)))
}

/**
 * Latency CDF of one profile, a step line per scenario (log time axis: the
 * scenarios span 0.1 s to tens of seconds), with each scenario's physical
 * floor as a dashed vertical line in its colour.
 */
export function latencyCdf(profile: string, records: readonly RunRecord[]): string {
  const runs = records.filter((r) => r.profile === profile && (r.latenciesMs?.length ?? 0) > 0)
  const doc = new SvgDoc(820, 420, `${profile}: first-delivery latency CDF`)
  const frame: Frame = { left: 60, top: 36, right: 560, bottom: 370 }
  doc.text(frame.left, 22, `${profile} — latency of each message, send → recipient's app (CDF)`, { 'font-weight': 'bold' })
  const all = runs.flatMap((r) => [...(r.latenciesMs ?? []), r.metrics?.floorMs ?? Number.NaN]).filter((v) => Number.isFinite(v) && v > 0)
  if (all.length === 0) {
    doc.text(frame.left, 60, 'no deliveries')
    return doc.toString()
  }
  const min = Math.min(...all) / 1.25
  const max = Math.max(...all) * 1.25
  const x = logScale([min, max], [frame.left, frame.right])
  const y = linearScale([0, 1], [frame.bottom, frame.top])
  axes(doc, frame, { scale: x, ticks: logTicks(min, max), label: 'latency (log scale)', format: msLabel }, {
    scale: y,
    ticks: [0, 0.25, 0.5, 0.75, 0.9, 1],
    label: 'fraction of messages delivered',
    format: (v) => `${Math.round(v * 100)} %`
  })
  const entries: Array<{ label: string; colour: string; dashed?: boolean }> = []
  for (const run of runs) {
    const c = scenarioColour(run.scenario)
    const values = run.latenciesMs ?? []
    const expected = Math.max(values.length, run.latencyOutOf ?? values.length)
    // Steps up at each delivery; a run that lost messages never reaches 100 %.
    const points: Array<[number, number]> = [[x(min), y(0)]]
    values.forEach((v, i) => {
      points.push([x(v), y(i / expected)], [x(v), y((i + 1) / expected)])
    })
    doc.polyline(points, { stroke: c, 'stroke-width': 2 })
    const floor = run.metrics?.floorMs
    if (floor !== null && floor !== undefined) doc.line(x(floor), frame.top, x(floor), frame.bottom, { stroke: c, 'stroke-dasharray': '4 3' })
    const p50 = run.metrics?.latency?.p50Ms
    entries.push({ label: `${run.scenario}: p50 ${p50 === undefined ? '–' : msShort(p50)}, floor ${floor ? msShort(floor) : '–'}`, colour: c })
  }
  entries.push({ label: 'floor (one message)', colour: '#555555', dashed: true })
  legend(doc, frame.right + 16, frame.top + 8, entries)
  return doc.toString()
}

/** Bytes on the wire per message, up and down, for every run: horizontal bars, grouped by profile. */
export function bytesPerMessage(records: readonly RunRecord[]): string {
  const rows = records.filter((r) => r.metrics?.bytesPerMessage)
  const rowHeight = 18
  const frame: Frame = { left: 170, top: 72, right: 700, bottom: 72 + Math.max(1, rows.length) * rowHeight }
  const doc = new SvgDoc(760, frame.bottom + 60, 'bytes on the wire per message')
  doc.text(12, 22, 'IP bytes per message counted at the emulated link (all phones together; acks, receipts and TCP included)', { 'font-weight': 'bold' })
  const max = Math.max(1, ...rows.map((r) => Math.max(r.metrics?.bytesPerMessage?.up ?? 0, r.metrics?.bytesPerMessage?.down ?? 0)))
  const x = linearScale([0, max * 1.08], [frame.left, frame.right])
  const band = linearScale([0, Math.max(1, rows.length)], [frame.top, frame.bottom])
  axes(doc, frame, { scale: x, ticks: linearTicks(0, max * 1.08), label: 'bytes per message' }, { scale: band, ticks: [], label: '' })
  let previous = ''
  rows.forEach((r, i) => {
    const top = band(i)
    if (r.profile !== previous && i > 0) doc.line(frame.left - 160, top, frame.right, top, { stroke: '#bbbbbb' })
    previous = r.profile
    doc.text(frame.left - 6, top + 13, `${r.profile} · ${r.scenario}`, { 'text-anchor': 'end', 'font-size': 11 })
    const b = r.metrics?.bytesPerMessage ?? { up: 0, down: 0 }
    doc.rect(frame.left, top + 2, x(b.up) - frame.left, 7, { fill: colour(0) })
    doc.rect(frame.left, top + 9, x(b.down) - frame.left, 7, { fill: colour(1) })
    doc.text(x(Math.max(b.up, b.down)) + 4, top + 13, `${Math.round(b.up)} / ${Math.round(b.down)}`, { 'font-size': 10 })
  })
  legend(doc, frame.left, 40, [
    { label: 'up (phones → broker)', colour: colour(0) },
    { label: 'down (broker → phones)', colour: colour(1) }
  ])
  return doc.toString()
}

/** Pairs of [down, up] times from a link's state changes; an outage still open at the end runs to `endMs`. */
function outageSpans(record: RunRecord, endMs: number): Array<[number, number]> {
  const spans: Array<[number, number]> = []
  let downAt: number | null = null
  for (const e of record.outages ?? []) {
    if (e.state === 'down') downAt = e.atMs
    else if (downAt !== null) {
      spans.push([downAt, e.atMs])
      downAt = null
    }
  }
  if (downAt !== null) spans.push([downAt, endMs])
  return spans
}

/**
 * The `flap` timeline: each message as a line from when it was sent (open
 * circle) to when it reached the recipient (dot), outages shaded. Messages
 * sent into an outage wait for the link, then arrive together.
 */
export function flapTimeline(record: RunRecord): string {
  const timeline = record.timeline ?? []
  const doc = new SvgDoc(760, 420, `${record.profile}: flap delivery timeline`)
  const frame: Frame = { left: 60, top: 36, right: 740, bottom: 370 }
  doc.text(frame.left, 22, `${record.profile} — flap: message sent (○) → delivered (●); link down shaded`, { 'font-weight': 'bold' })
  const times = timeline.flatMap((t) => [t.sentMs, ...t.deliveredMs.filter((d): d is number => d !== null)])
  if (times.length === 0) {
    doc.text(frame.left, 60, 'no messages')
    return doc.toString()
  }
  const start = Math.max(0, Math.min(...times) - 1000)
  const end = Math.max(...times) + 1000
  const x = linearScale([start / 1000, end / 1000], [frame.left, frame.right])
  const y = linearScale([0, Math.max(1, timeline.length)], [frame.bottom, frame.top])
  for (const [down, up] of outageSpans(record, end)) {
    const from = x(Math.max(start, down) / 1000)
    doc.rect(from, frame.top, x(Math.min(end, up) / 1000) - from, frame.bottom - frame.top, { fill: '#d9d9d9' })
  }
  axes(doc, frame, { scale: x, ticks: linearTicks(start / 1000, end / 1000, 10), label: 'time since the scenario started (s)' }, {
    scale: y,
    ticks: linearTicks(0, timeline.length, 6),
    label: 'message index'
  })
  for (const t of timeline) {
    const py = y(t.index)
    const sx = x(t.sentMs / 1000)
    for (const d of t.deliveredMs) {
      if (d === null) {
        doc.line(sx, py, frame.right, py, { stroke: '#D55E00', 'stroke-dasharray': '2 2' })
        continue
      }
      doc.line(sx, py, x(d / 1000), py, { stroke: '#7f7f7f', 'stroke-width': 0.8 })
      doc.circle(x(d / 1000), py, 2.2, { fill: colour(0) })
    }
    doc.circle(sx, py, 2.2, { fill: 'none', stroke: '#000000', 'stroke-width': 0.8 })
  }
  return doc.toString()
}
