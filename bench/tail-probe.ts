import { writeFileSync } from 'node:fs'
import { Session } from 'node:inspector'
import { monitorEventLoopDelay, PerformanceObserver, performance, constants } from 'node:perf_hooks'
import { ClassicLevel } from 'classic-level'
import type { Histogram } from 'hdr-histogram-js'
import { Committer } from '../storage/embedded/committer.js'
import { latencyHistogram as histogram } from './latency.js'
import { threadsCpuMs } from './thread-cpu.js'

/**
 * Loaded into a lowband broker (or the stored baselines, which use the same committer) with `--import` (bench/at-rate.ts `--probe FILE`): where a message's
 * latency tail comes from, without changing the broker's code. It records, in microseconds, the
 * event loop's delay, every GC pause by kind, each synced LevelDB batch (its duration and size) and
 * each store write from `Committer.write` to its promise settling (the wait for the batch in flight,
 * the turn, and its own batch), and writes a summary to the file named by LOWBAND_TAIL_PROBE when the
 * process exits, with a timeline of every second (wall-clock time, to line up with LevelDB's LOG and
 * at-rate's `--per-second`): the CPU of the main thread and of the others, store writes and their
 * p50/p99/max, batches and their max, GC pause time by kind, and the event loop's longest delay.
 */
const out = process.env.LOWBAND_TAIL_PROBE

const loop = monitorEventLoopDelay({ resolution: 1 })
loop.enable()
const loopThisSecond = monitorEventLoopDelay({ resolution: 1 })
loopThisSecond.enable()

/**
 * CPU ms of this process's threads from /proc (utime and stime, in clock ticks of 10 ms): the main
 * thread (its JavaScript, GC, and the syscalls it makes: socket writes) apart from the others
 * (libuv's pool running LevelDB's synced batches and fsyncs, LevelDB's compaction thread, V8's
 * helper threads).
 */
function threadCpuMs (): { main: { user: number, system: number }, others: { user: number, system: number } } {
  const sum = { main: { user: 0, system: 0 }, others: { user: 0, system: 0 } }
  for (const { tid, user, system } of threadsCpuMs()) {
    const into = tid === process.pid ? sum.main : sum.others
    into.user += user
    into.system += system
  }
  return sum
}
const cpuAtStart = threadCpuMs()
let cpuLastSecond = cpuAtStart

/** What happened in the current second; moved to `timeline` each second. */
const second = { writeUs: histogram(), batches: 0, batchMaxUs: 0, ops: 0, gcMs: {} as Record<string, number> }
const timeline: Array<Record<string, unknown>> = []
setInterval(() => {
  const toMs = (us: number): number => Math.round(us / 10) / 100
  const cpu = threadCpuMs()
  const mainMs = cpu.main.user + cpu.main.system - cpuLastSecond.main.user - cpuLastSecond.main.system
  const othersMs = cpu.others.user + cpu.others.system - cpuLastSecond.others.user - cpuLastSecond.others.system
  cpuLastSecond = cpu
  timeline.push({
    at: new Date().toISOString().slice(11, 23),
    mainCpuMs: mainMs,
    othersCpuMs: othersMs,
    writes: second.writeUs.totalCount,
    writeP50: toMs(second.writeUs.getValueAtPercentile(50)),
    writeP99: toMs(second.writeUs.getValueAtPercentile(99)),
    writeMax: toMs(second.writeUs.maxValue),
    batches: second.batches,
    batchMax: toMs(second.batchMaxUs),
    ops: second.ops,
    gcMs: Object.fromEntries(Object.entries(second.gcMs).map(([kind, total]) => [kind, Math.round(total * 10) / 10])),
    loopMax: Math.round(loopThisSecond.max / 1e5) / 10
  })
  second.writeUs.reset()
  Object.assign(second, { batches: 0, batchMaxUs: 0, ops: 0, gcMs: {} })
  loopThisSecond.reset()
}, 1000).unref()

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
    second.gcMs[kind] = (second.gcMs[kind] ?? 0) + entry.duration
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
  second.ops += ops.length
  return batch.call(this, ops, options).finally(() => {
    inFlight--
    const us = Math.max(1, Math.round((performance.now() - started) * 1000))
    batchUs.recordValue(us)
    second.batches++
    second.batchMaxUs = Math.max(second.batchMaxUs, us)
  })
}
const write = Committer.prototype.write
Committer.prototype.write = function timedWrite (ops) {
  const started = performance.now()
  const done = (): void => {
    const us = Math.max(1, Math.round((performance.now() - started) * 1000))
    writeUs.recordValue(us)
    second.writeUs.recordValue(us)
  }
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
    storeWriteMs: ms(writeUs, 1000),
    // Over the probe's whole life (start-up and connections included).
    threadCpuMs: (({ main, others }) => ({
      main: { user: main.user - cpuAtStart.main.user, system: main.system - cpuAtStart.main.system },
      others: { user: others.user - cpuAtStart.others.user, system: others.system - cpuAtStart.others.system }
    }))(threadCpuMs()),
    timeline
  }
  writeFileSync(out, `${JSON.stringify(summary, null, 1)}\n`)
})
