import type { DirectionCounters } from '../backends/types.js'
import type { CalibrationResult, LossCheck, OutageReport, RateCheck } from './calibrate.js'
import { TOLERANCE } from './calibrate.js'

/* `lowband netem check` output: a table of profile value beside measured value. */

const f1 = (n: number): string => n.toFixed(1)
const f2 = (n: number): string => n.toFixed(2)
const signed = (n: number, digits: number): string => `${n >= 0 ? '+' : ''}${n.toFixed(digits)}`
const verdict = (ok: boolean, tolerance: string): string => `${ok ? 'ok' : 'FAIL'} (${tolerance})`

function table(rows: readonly string[][]): string[] {
  const widths = rows.reduce<number[]>((w, row) => row.map((cell, i) => Math.max(w[i] ?? 0, cell.length)), [])
  return rows.map((row) =>
    row
      .map((cell, i) => cell.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd()
  )
}

function rateRow(name: string, r: RateCheck): string[] {
  return [
    name,
    `${r.profileKbit} kbit/s`,
    r.measuredKbit === null ? 'no data' : `${f1(r.measuredKbit)} kbit/s`,
    r.errorPct === null ? '' : `${signed(r.errorPct, 1)} %`,
    verdict(r.ok, `±${TOLERANCE.ratePct} %`)
  ]
}

function lossRow(name: string, l: LossCheck): string[] {
  return [
    name,
    `${l.profilePct} %`,
    `${f2(l.measuredPct)} % (${l.sent - l.received}/${l.sent}, 95% CI ${f2(l.ci95Pct[0])}–${f2(l.ci95Pct[1])})`,
    `${signed(l.errorPp, 2)} pp`,
    verdict(l.ok, `±${TOLERANCE.lossPp} pp`)
  ]
}

function countersLine(name: string, c: DirectionCounters): string {
  const reasons =
    c.lost === null ? '' : ` (lost ${c.lost}, queue ${c.queueDropped ?? 0}, outage ${c.outageDropped ?? 0})`
  return `  ${name}: ${c.packets} packets, ${c.bytes} bytes, ${c.dropped} dropped${reasons}`
}

function outageLines(o: OutageReport): string[] {
  const lines = [
    `outages: down ${o.schedule.downS.min}–${o.schedule.downS.max} s after ${o.schedule.upS.min}–${o.schedule.upS.max} s up` +
      ` (mean cycle ${(o.schedule.upS.min + o.schedule.upS.max) / 2 + (o.schedule.downS.min + o.schedule.downS.max) / 2} s);` +
      ` observed for ${o.observedS} s on the schedule ×${o.scale}:`
  ]
  const rows = [['', 'scheduled', 'silence down', 'silence up', 'verdict']]
  o.outages.forEach((x, i) => {
    const m = (v: number | null): string => (v === null ? 'none seen' : `${v.toFixed(0)} ms`)
    rows.push([`outage ${i + 1}`, `${x.scheduledMs.toFixed(0)} ms`, m(x.measuredMs.down), m(x.measuredMs.up), verdict(x.ok, `±${o.toleranceMs.toFixed(0)} ms`)])
  })
  if (o.outages.length === 0) rows.push(['(no complete outage observed)', '', '', '', 'FAIL'])
  const dropped = (c: DirectionCounters): string => `${c.outageDropped ?? c.dropped}`
  return [
    ...lines,
    ...table(rows).map((l) => `  ${l}`),
    `  packets the link dropped in outages: down ${dropped(o.counters.down)}, up ${dropped(o.counters.up)}`
  ]
}

export function formatCalibration(r: CalibrationResult): string {
  const head = `${r.profile.id} — ${r.profile.title}: mode ${r.mode} (${r.modeReason}), seed ${r.seed}, ${f1(r.durationS)} s`
  const rows = [
    ['', 'profile', 'measured', 'error', 'verdict'],
    [
      'RTT',
      `${r.rtt.profileMs} ms (probe: ${f1(r.rtt.expectedMs)})`,
      `${f1(r.rtt.medianMs)} ms median of ${r.rtt.samples} (${f1(r.rtt.minMs)}–${f1(r.rtt.maxMs)})`,
      `${signed(r.rtt.errorPct, 1)} %`,
      verdict(r.rtt.ok, `±${TOLERANCE.rttPct} %`)
    ],
    rateRow('rate down', r.rate.down),
    rateRow('rate up', r.rate.up),
    lossRow('loss down', r.loss.down),
    lossRow('loss up', r.loss.up)
  ]
  const lines = [head, ...table(rows).map((l) => `  ${l}`)]
  if (r.outages) lines.push(...outageLines(r.outages))
  lines.push('counted at the link (IP bytes):', countersLine('down', r.counters.down), countersLine('up', r.counters.up))
  lines.push(r.ok ? 'result: calibrated' : 'result: NOT within tolerance')
  return lines.join('\n')
}

export const RTT_NOTE =
  'RTT "probe" adds the time to serialise the 44-byte probe at each direction\'s rate; error is measured against it.'
