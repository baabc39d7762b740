import { writeFileSync } from 'node:fs'
import { Session } from 'node:inspector'
import { monitorEventLoopDelay, PerformanceObserver, performance, constants } from 'node:perf_hooks'
import { ClassicLevel } from 'classic-level'
import type { Histogram } from 'hdr-histogram-js'
import { Committer } from '../storage/embedded/committer.js'
import { latencyHistogram as histogram } from './latency.js'

/**
 * Loaded into a lowband broker (or the stored baselines, which use the same committer) with `--import` (bench/at-rate.ts `--probe FILE`): where a message's
 * latency tail comes from, without changing the broker's code. It records, in microseconds, the
 * event loop's delay, every GC pause by kind, each synced LevelDB batch (its duration and size) and
 * each store write from `Committer.write` to its promise settling (the wait for the batch in flight,
 * the turn, and its own batch), and writes a summary to the file named by LOWBAND_TAIL_PROBE when the
 * process exits.
 */
const out = process.env.LOWBAND_TAIL_PROBE

const loop = monitorEventLoopDelay({ resolution: 1 })
loop.enable()

const GC_KINDS: Record<number, string> = {
  [constants.NODE_PERFORMANCE_GC_MINOR]: 'scavenge',
  [constants.NODE_PERFORMANCE_GC_MAJOR]: 'mark-compact',
  [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental marking',
  [constants.NODE_PERFORMANCE_GC_WEAKCB]: 'weak callbacks'
}
const gc = new Map<string, Histogram>()
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) {
    const kind = GC_KINDS[(entry as unknown as { detail: { kind: number } }).detail.kind] ?? 'other'
    let h = gc.get(kind)
    if (h === undefined) gc.set(kind, h = histogram())
    h.recordValue(Math.max(1, Math.round(entry.duration * 1000)))
  }
}).observe({ entryTypes: ['gc'] })

const batchUs = histogram()
const batchOps = histogram()
const writeUs = histogram()
let inFlight = 0
let overlapped = 0

type BatchFn = (this: unknown, ops: unknown[], options: unknown) => Promise<void>
const proto = ClassicLevel.prototype as unknown as { _batch: BatchFn }
const batch = proto._batch
proto._batch = function timedBatch (ops, options) {
  const started = performance.now()
  if (inFlight++ > 0) overlapped++
  batchOps.recordValue(Math.max(1, ops.length))
  return batch.call(this, ops, options).finally(() => {
    inFlight--
    batchUs.recordValue(Math.max(1, Math.round((performance.now() - started) * 1000)))
  })
}
const write = Committer.prototype.write
Committer.prototype.write = function timedWrite (ops) {
  const started = performance.now()
  const done = (): void => { writeUs.recordValue(Math.max(1, Math.round((performance.now() - started) * 1000))) }
  const promise = write.call(this, ops)
  promise.then(done, done)
  return promise
}

const ms = (h: Histogram | { percentile: (p: number) => number, max: number, count: number }, scale: number): Record<string, number> => {
  const at = (p: number): number => Math.round(('getValueAtPercentile' in h ? h.getValueAtPercentile(p) : h.percentile(p)) / scale * 100) / 100
  return { count: 'totalCount' in h ? h.totalCount : h.count, p50: at(50), p99: at(99), p999: at(99.9), max: at(100) }
}

/**
 * LOWBAND_TAIL_ALLOCATIONS=FILE: also V8's sampling heap profile of every allocation, collected or
 * not (what makes the young generation fill), written to FILE (.heapprofile, Chrome DevTools) at exit.
 */
const allocations = process.env.LOWBAND_TAIL_ALLOCATIONS
const inspector = allocations === undefined ? undefined : new Session()
if (inspector !== undefined) {
  inspector.connect()
  inspector.post('HeapProfiler.startSampling', { samplingInterval: 16_384, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true })
}

process.on('exit', () => {
  // An in-process session answers synchronously, so the profile is written before the process ends.
  inspector?.post('HeapProfiler.stopSampling', (error, result) => {
    if (error === null) writeFileSync(allocations!, JSON.stringify(result.profile))
  })
  if (out === undefined) return
  const summary = {
    eventLoopDelayMs: ms(loop, 1e6),
    gcPauseMs: Object.fromEntries([...gc].map(([kind, h]) => [kind, { ...ms(h, 1000), totalMs: Math.round(h.mean * h.totalCount / 1000) }])),
    batchMs: ms(batchUs, 1000),
    batchOps: ms(batchOps, 1),
    batchesOverlapped: overlapped,
    storeWriteMs: ms(writeUs, 1000)
  }
  writeFileSync(out, `${JSON.stringify(summary, null, 1)}\n`)
})
