import { describe, expect, it } from 'vitest'
import { renderReport, stepVerdict } from '../../bench/render.js'
import type { BenchReport } from '../../bench/report.js'
import type { StepOutcome } from '../../bench/throughput.js'

const step = (sustained: boolean, failure?: string, firstTry?: StepOutcome): StepOutcome => ({
  offeredRate: 1000, sentRate: 1000, deliveredRate: 1000, deliveredShare: 1, blocked: 0,
  latency: { count: 1, p50Ms: 1, p99Ms: 1, p999Ms: 1, maxMs: 1 }, brokerCpuPct: 1, generatorCpuPct: 1, machineCpuPct: 1,
  sustained, ...(failure === undefined ? {} : { failure }), ...(firstTry === undefined ? {} : { firstTry })
})

describe('bench step verdicts', () => {
  it('say when a step passed only on its second try, and keep the first try\'s failure', () => {
    expect(stepVerdict(step(true))).toBe('sustained')
    expect(stepVerdict(step(false, 'latency'))).toBe('failed: latency')
    expect(stepVerdict(step(true, undefined, step(false, 'delivery')))).toBe('sustained on 2nd try (1st failed: delivery)')
    expect(stepVerdict(step(false, 'latency', step(false, 'backpressure')))).toBe('failed twice: backpressure, latency')
  })
})

describe('bench report header', () => {
  const report = (loadAverage1m: number): BenchReport => ({
    command: 'npm run bench', quick: false, durationSeconds: 1, errors: [], goals: [],
    machine: { cpuModel: 'cpu', cores: 2, memoryGiB: 24, freeMemoryGiB: 20, kernel: '6', node: 'v20', aedes: '1.2.0', mosquitto: 'not used', loadAverage1m, date: '2026-11-29T00:00:00Z', commit: 'abc1234' }
  })

  it('labels a run that started on a busy machine, and names the commit', () => {
    const quiet = renderReport(report(0.2)).split('\n')[2]!
    expect(quiet).toContain('load average at start: 0.2 ·')
    expect(quiet).toContain('commit abc1234')
    expect(renderReport(report(0.8)).split('\n')[2]).toContain('load average at start: 0.8 — busy machine')
  })
})
