import { describe, expect, it } from 'vitest'
import { renderReport, stepVerdict } from '../../bench/render.js'
import { checkGoals, type BenchReport } from '../../bench/report.js'
import type { CrossNodeLatency } from '../../bench/cross-node.js'
import type { BrokerThroughput, StepOutcome } from '../../bench/throughput.js'

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

/** A report of the throughput section alone, judged by the goals. */
function throughputReport (command: string, results: BrokerThroughput[], crossNode?: CrossNodeLatency): BenchReport {
  const base: Omit<BenchReport, 'goals'> = {
    command, quick: false, durationSeconds: 1, errors: [],
    machine: { cpuModel: 'cpu', cores: 2, memoryGiB: 24, freeMemoryGiB: 20, kernel: '6', node: 'v20', aedes: '1.2.0', mosquitto: 'not used', loadAverage1m: 0.1, date: '2026-11-30T00:00:00Z', commit: 'abc1234' },
    throughput: {
      pairs: 100, clients: 200, generatorProcesses: 2, p99LimitMs: 200, settings: { warmupMs: 1, stepMs: 1, graceMs: 1, halfMs: 1, growth: 2, bisections: 1 },
      results, ...(crossNode === undefined ? {} : { crossNode })
    }
  }
  return { ...base, goals: checkGoals(base) }
}

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

describe('the --cluster throughput figures', () => {
  const latency = (p50Ms: number) => ({ count: 1, p50Ms, p99Ms: p50Ms * 2, p999Ms: 1, maxMs: 1 })
  const result = (maxSustained: number, more: Partial<BrokerThroughput> = {}): BrokerThroughput => ({
    kind: 'lowband', steps: [step(true)], maxSustained, limitedBy: 'latency', atHalf: { ...step(true), latency: latency(3) }, ...more
  })
  const report = (twoNodes: number, crossP50: number): BenchReport => {
    return throughputReport('npm run bench -- --only throughput --cluster', [
      result(4000),
      { ...result(1000), kind: 'aedes' },
      result(3000, { store: 'postgres', cluster: { nodes: 1, placement: 'same-node' } }),
      result(twoNodes, { store: 'postgres', cluster: { nodes: 2, placement: 'cross-node' }, atHalf: { ...step(true), latency: latency(4), cpuUsPerMessage: { nodes: 250, postgres: 125, redis: 20 } } })
    ], { rate: 200, sameNode: latency(2), crossNode: latency(crossP50), addedP50Ms: crossP50 - 2 })
  }
  const goal = (r: BenchReport, name: string) => r.goals.find((g) => g.name.includes(name))

  it('judges two nodes against the embedded single node (≥ 0.8×) and cross-node p50 (≤ 2 ms added)', () => {
    const met = report(3200, 3.5)
    expect(goal(met, '2 nodes on PostgreSQL')).toMatchObject({ value: '0.80× (3200 vs 4000 msg/s)', met: true })
    expect(goal(met, 'cross-node delivery')).toMatchObject({ value: '1.5 ms (3.5 vs 2 ms)', met: true })
    const missed = report(3000, 4.5)
    expect(goal(missed, '2 nodes on PostgreSQL')?.met).toBe(false)
    expect(goal(missed, 'cross-node delivery')?.met).toBe(false)
  })

  it('renders each setup with its ratio to the embedded node and to plain Aedes, the CPU per message of each part, and the cross-node latency', () => {
    const text = renderReport(report(3200, 3.5))
    expect(text).toMatch(/\| lowband \(postgres \+ redis, 2 nodes, cross-node\) +\| +3200 \| +3\.20× \|/)
    expect(text).toMatch(/\| lowband \(postgres \+ redis, 2 nodes, cross-node\) +\| +3200 \| +0\.80× \| +4 \| +8 \| 250 µs \(4000\/s\) +\| 125 µs \(8000\/s\) +\| 20 µs \(50000\/s\) +\|/)
    expect(text).toContain('p50 2 ms same-node, 3.5 ms cross-node (+1.5 ms)')
  })
})

describe('the --nodes memory figures', () => {
  const MiB = 2 ** 20
  const usage = (rss: number, heapTotal: number, heapUsed: number, newSpace: number) => ({
    rss: rss * MiB, heapTotal: heapTotal * MiB, heapUsed: heapUsed * MiB, external: 9 * MiB, arrayBuffers: 5 * MiB,
    heapSpaces: { new_space: { committed: newSpace * MiB, used: 0 }, old_space: { committed: (heapTotal - newSpace) * MiB, used: heapUsed * MiB } }
  })
  const base: Omit<BenchReport, 'goals'> = {
    command: 'npm run bench -- --only memory --nodes 2', quick: false, durationSeconds: 1, errors: [],
    machine: { cpuModel: 'cpu', cores: 2, memoryGiB: 24, freeMemoryGiB: 20, kernel: '6', node: 'v20', aedes: '1.2.0', mosquitto: 'not used', loadAverage1m: 0.1, date: '2026-11-30T00:00:00Z', commit: 'abc1234' },
    memory: {
      fdLimit: 20000, requestedLevels: [2048], measuredLevels: [2048], nodes: 2,
      results: [{
        kind: 'lowband', clean: false, baselineRssBytes: 200 * MiB,
        levels: [{
          connections: 2048, rssBytes: 216 * MiB, perConnectionBytes: 8 * 1024, heapPerConnectionBytes: 5 * 1024, connectSeconds: 1, failed: 0,
          afterStorm: { rssBytes: 220 * MiB, perConnectionBytes: 10 * 1024 }, settledAfterSeconds: 45,
          // 1024 devices: 1 KiB per connection is 1 MiB.
          nodes: [{ node: 'n0', connections: 1024, before: usage(100, 60, 30, 32), afterStorm: usage(110, 70, 35, 32), settled: usage(107, 68, 35, 1) }]
        }]
      }]
    }
  }
  const report: BenchReport = { ...base, goals: checkGoals(base) }

  it('judge the settled figure, and show the one right after the storm beside it', () => {
    expect(report.goals.find((g) => g.name.startsWith('memory'))).toMatchObject({ value: '8.0 KiB', met: true })
    expect(renderReport(report)).toContain('right after the connect storm: 10.00 KiB per connection (RSS 220.0 MiB); the figure above once RSS stopped falling, 45 s later')
  })

  it('split each node\'s growth per connection into V8 heap used, heap committed but unused, external and the rest of RSS', () => {
    const rows = renderReport(report).split('\n').filter((line) => line.startsWith('| n0'))
    const cells = (row: string) => row.split('|').map((cell) => cell.trim()).filter((cell) => cell !== '')
    // RSS, V8 used, committed unused, external, rest (rss − heap total − external)
    expect(cells(rows[0]!).slice(4)).toEqual(['10.00', '5.00', '5.00', '0.00', '0.00'])
    expect(cells(rows[1]!).slice(1, 2)).toEqual(['settled'])
    expect(cells(rows[1]!).slice(4)).toEqual(['7.00', '5.00', '3.00', '0.00', '-1.00'])
  })
})

describe('the throughput and tail goals against the protocol floor (issue 18)', () => {
  const latency = (p99Ms: number) => ({ count: 10, p50Ms: 1, p99Ms, p999Ms: 1, maxMs: 1 })
  const result = (kind: BrokerThroughput['kind'], maxSustained: number, more: Partial<BrokerThroughput> = {}): BrokerThroughput => ({
    kind, steps: [step(true)], maxSustained, limitedBy: 'latency', atHalf: { ...step(true), offeredRate: maxSustained / 2, latency: latency(20) }, ...more
  })
  const report = (lowband: number, lowbandP99: number, aedesP99AtThatRate: number): BenchReport => {
    return throughputReport('npm run bench -- --only throughput --with aedes-protocol', [
      result('lowband', lowband, { atHalf: { ...step(true), offeredRate: lowband / 2, latency: latency(lowbandP99) } }),
      // Aedes' own half (p99 20 ms) is not the comparison: its run at lowband's half rate is.
      result('aedes', 10_000, { atLowbandHalf: { ...step(true), offeredRate: lowband / 2, latency: latency(aedesP99AtThatRate) } }),
      result('aedes-protocol', 7500)
    ])
  }
  const goal = (r: BenchReport, name: string) => r.goals.find((g) => g.name.startsWith(name))

  it('judges lowband against the floor (≥ 0.8×), the floor against plain Aedes (≥ 0.7×), lowband against plain Aedes (≥ 0.55×) and the tail at the same rate (≤ 3×)', () => {
    const met = report(6000, 30, 10)
    expect(goal(met, 'durable 1:1 throughput vs the protocol floor')).toMatchObject({ value: '0.80× (6000 vs 7500 msg/s)', met: true })
    expect(goal(met, 'the protocol floor vs plain Aedes')).toMatchObject({ value: '0.75× (7500 vs 10000 msg/s)', met: true })
    expect(goal(met, 'durable 1:1 throughput vs plain Aedes')).toMatchObject({ value: '0.60× (6000 vs 10000 msg/s)', met: true })
    expect(goal(met, 'p99 at half of lowband\'s maximum vs plain Aedes at that rate (3000 msg/s)')).toMatchObject({ value: '3.00× (30 vs 10 ms)', met: true })
    const missed = report(5000, 31, 10)
    expect(goal(missed, 'durable 1:1 throughput vs the protocol floor')?.met).toBe(false)
    expect(goal(missed, 'durable 1:1 throughput vs plain Aedes')?.met).toBe(false)
    expect(goal(missed, 'p99 at half')?.met).toBe(false)
  })

  it('prints the tail at lowband\'s half rate beside each reference broker measured there', () => {
    const text = renderReport(report(6000, 30, 10))
    expect(text).toContain('At lowband\'s half rate (3000 msg/s offered')
    expect(text).toMatch(/\| aedes +\| +1 \| +10 \| +3\.00× \|/)
  })
})
