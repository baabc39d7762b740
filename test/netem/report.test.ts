import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { getProfile } from '../../netem/profiles/index.js'
import { summaryTable } from '../../netem/report/summary.js'
import { writeReport } from '../../netem/report/write.js'
import type { RunRecord } from '../../netem/run/matrix.js'
import type { ScenarioMetrics } from '../../netem/run/metrics.js'
import { planFor } from '../../netem/run/plan.js'
import { Progress } from '../../netem/run/progress.js'

/* The report writer and the progress display, from hand-made runs (no link needed). */

function metrics(overrides: Partial<ScenarioMetrics> = {}): ScenarioMetrics {
  return {
    messages: 3,
    expected: 3,
    delivered: 3,
    deliveredPct: 100,
    unconfirmed: 0,
    lost: 0,
    duplicates: 0,
    orderViolations: 0,
    latency: { count: 3, minMs: 250, p50Ms: 300, p90Ms: 900, p99Ms: 900, maxMs: 900 },
    phases: {},
    bytesPerMessage: { up: 160, down: 320 },
    packetsPerMessage: { up: 2, down: 3 },
    floorMs: 196,
    drainFloorMs: null,
    errors: 0,
    ok: true,
    ...overrides
  }
}

function flapRecord(): RunRecord {
  return {
    profile: '3g-good',
    scenario: 'flap',
    plan: planFor(getProfile('3g-good'), 'flap'),
    seed: 1,
    mode: 'linkemu',
    durationMs: 20_000,
    metrics: metrics(),
    latenciesMs: [250, 300, 900],
    latencyOutOf: 3,
    timeline: [
      { index: 0, sentMs: 1000, deliveredMs: [1250] },
      { index: 1, sentMs: 4500, deliveredMs: [5400] },
      { index: 2, sentMs: 6000, deliveredMs: [6300] }
    ],
    outages: [
      { state: 'down', atMs: 4000 },
      { state: 'up', atMs: 5000 }
    ],
    windows: [{ phase: 'flap', messages: 3, upBytes: 480, downBytes: 960 }],
    marks: {},
    facts: {}
  }
}

describe('netem report', () => {
  let dir = ''
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lowband-report-test-'))
  })
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true })
  })

  it('writes report.md with a row per run, results.json and the plots, and leaves other files alone', async () => {
    await writeFile(join(dir, 'README.md'), 'keep me')
    await writeFile(join(dir, 'latency-cdf-gone-profile.svg'), 'stale')
    const failed: RunRecord = { profile: 'edge-lossy', scenario: 'burst', plan: planFor(getProfile('edge-lossy'), 'burst'), seed: 1, durationMs: 5, error: 'broker exited (1) before it was ready' }
    const lossy: RunRecord = { ...flapRecord(), profile: '2g-rural', metrics: metrics({ delivered: 2, deliveredPct: 66.7, lost: 1, ok: false }) }
    const files = await writeReport(dir, [flapRecord(), lossy, failed], { command: 'npm run netem', startedAt: new Date('2026-01-02T03:04:05Z'), durationMs: 61_000, seed: 1, machine: 'test' })

    expect((await readdir(dir)).sort()).toEqual(
      ['README.md', 'bytes-per-message.svg', 'flap-timeline-2g-rural.svg', 'flap-timeline-3g-good.svg', 'latency-cdf-2g-rural.svg', 'latency-cdf-3g-good.svg', 'report.md', 'results.json'].sort()
    )
    expect(files).toContain(join(dir, 'report.md'))
    expect(await readFile(join(dir, 'README.md'), 'utf8')).toBe('keep me')

    const report = await readFile(join(dir, 'report.md'), 'utf8')
    expect(report).toContain('**1 of 3 runs delivered every message once, in order.**')
    expect(report).toContain('| `3g-good` | flap | 3 | 100 % | 300 / 900 | 196 | 1.53 |')
    expect(report).toMatch(/\| `2g-rural` \| flap .*\| 66\.7 % .*\| 1 \| \*\*not ok\*\* \|/)
    expect(report).toContain('run failed: broker exited (1) before it was ready')
    expect(report).toContain('![3g-good flap timeline](flap-timeline-3g-good.svg)')

    const results = JSON.parse(await readFile(join(dir, 'results.json'), 'utf8')) as { command: string; runs: RunRecord[] }
    expect(results.command).toBe('npm run netem')
    expect(results.runs.map((r) => r.profile)).toEqual(['3g-good', '2g-rural', 'edge-lossy'])
  })

  it('draws the flap timeline with the outage shaded and every message from sent to delivered', async () => {
    await writeReport(dir, [flapRecord()], { command: 'x', startedAt: new Date(), durationMs: 1, seed: 1, machine: 'test' })
    const svg = await readFile(join(dir, 'flap-timeline-3g-good.svg'), 'utf8')
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true)
    // The shaded outage: one grey band.
    expect(svg.match(/fill="#d9d9d9"/g)).toHaveLength(1)
    // Three open circles (sent) and three dots (delivered).
    expect(svg.match(/<circle[^>]*fill="none"/g)).toHaveLength(3)
    expect(svg.match(/<circle[^>]*fill="#0072B2"/g)).toHaveLength(3)
    const cdf = await readFile(join(dir, 'latency-cdf-3g-good.svg'), 'utf8')
    expect(cdf).toContain('flap: p50 300 ms, floor 196 ms')
  })
})

describe('netem report summary', () => {
  function run(profile: string, scenario: 'burst' | 'resume' | 'flap', m: Partial<ScenarioMetrics>, marks: Record<string, number> = {}): RunRecord {
    return { profile, scenario, plan: planFor(getProfile(profile), scenario), seed: 1, durationMs: 1, metrics: metrics(m), marks }
  }
  const latency = (p50Ms: number, p99Ms: number) => ({ count: 50, minMs: p50Ms, p50Ms, p90Ms: p99Ms, p99Ms, maxMs: p99Ms })

  it('has one row per profile: burst, resume and flap p50 ÷ floor, burst p99 ÷ drain floor, the outage\'s messages after the return against the flap goal, reconnect → synced in round trips', () => {
    const records: RunRecord[] = [
      run('3g-good', 'burst', { latency: latency(390, 440), floorMs: 195, drainFloorMs: 343 }),
      // 3g-good's round trip is 90 + 100 ms: 475 ms from reconnect to synced is 2.5 of them.
      run('3g-good', 'resume', { latency: latency(300, 500), floorMs: 200 }, { offline: 1000, reconnect: 5000, synced: 5475 }),
      // The message sent during the outage (4000–5000 ms) arrives 400 ms after the return; the goal for
      // one message is 1.5 × 190 ms + its drain (160 B up at 420 kbit/s: 3.05 ms; 320 B down at 850: 3.01).
      { ...flapRecord(), metrics: metrics({ latency: latency(250, 6000), floorMs: 200 }) },
      run('edge-lossy', 'burst', { latency: latency(1700, 2500), floorMs: 850, drainFloorMs: 1250 }),
      { profile: 'edge-lossy', scenario: 'resume', plan: planFor(getProfile('edge-lossy'), 'resume'), seed: 1, durationMs: 1, error: 'broker exited' },
      { ...flapRecord(), profile: '2g-rural', scenario: 'typing', plan: planFor(getProfile('2g-rural'), 'typing') }
    ]
    expect(summaryTable(records)).toEqual([
      '| profile | burst p50 ÷ floor | burst p99 ÷ drain floor | resume p50 ÷ floor | flap p50 ÷ floor | flap: outage → last delivered after the return, ms (goal) | reconnect → synced, round trips |',
      '|---|---:|---:|---:|---:|---:|---:|',
      '| `3g-good` | 2.00 | 1.28 | 1.50 | 1.25 | 400 (288) | 2.5 |',
      '| `edge-lossy` | 2.00 | 2.00 | – | – | – | – |'
    ])
  })

  it('stands at the top of report.md, before the profiles', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lowband-report-test-'))
    try {
      await writeReport(dir, [run('3g-good', 'burst', { latency: latency(390, 440), floorMs: 195, drainFloorMs: 343 })], { command: 'x', startedAt: new Date(), durationMs: 1, seed: 1, machine: 'test' })
      const report = await readFile(join(dir, 'report.md'), 'utf8')
      const summary = report.indexOf('## Summary')
      expect(summary).toBeGreaterThan(0)
      expect(summary).toBeLessThan(report.indexOf('## Profiles'))
      expect(report).toContain('| `3g-good` | 2.00 | 1.28 | – | – | – | – |')
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  it('is left out when no burst, resume or flap ran', () => {
    expect(summaryTable([{ ...flapRecord(), scenario: 'typing' }])).toEqual([])
  })
})

describe('progress', () => {
  function capture(isTTY: boolean): { out: string[]; stream: { isTTY: boolean; write: (t: string) => boolean } } {
    const out: string[] = []
    return { out, stream: { isTTY, write: (t: string) => out.push(t) > 0 } }
  }

  it('prints plain lines without a terminal: a start and a result per run', () => {
    const { out, stream } = capture(false)
    const progress = new Progress(2, stream)
    progress.start('3g-good × burst')
    progress.update({ delivered: 10, expected: 50, phase: 'burst' })
    progress.finish('50/50 delivered')
    expect(out.join('')).toMatch(/^lowband netem: \[1\/2\] 3g-good × burst…\nlowband netem: \[1\/2\] 3g-good × burst: 50\/50 delivered \(\d+\.\d s\)\n$/)
    expect(out.join('')).not.toContain('\r')
    progress.close()
  })

  it('redraws one bar in place on a terminal and clears it at the end', () => {
    const { out, stream } = capture(true)
    const progress = new Progress(1, stream)
    progress.start('edge-good × flap')
    progress.update({ delivered: 5, expected: 10, phase: 'flap' })
    const last = out.at(-1) ?? ''
    expect(last.startsWith('\r\x1b[2K')).toBe(true)
    expect(last.slice(5)).toMatch(/^\[█{11}░{13}\] 0\/1 {2}edge-good × flap {2}flap: 5\/10 delivered/)
    progress.finish('10/10 delivered')
    expect(out.at(-1)).toBe('\r\x1b[2K')
    expect(out.join('')).toContain('lowband netem: [1/1] edge-good × flap: 10/10 delivered')
  })
})
