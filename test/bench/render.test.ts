import { describe, expect, it } from 'vitest'
import { stepVerdict } from '../../bench/render.js'
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
