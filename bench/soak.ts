import { startBroker } from './brokers.js'
import { withWarmLoad, type StepMeasure } from './chat-load.js'
import { cpuMs, rssBytes } from './proc.js'
import { PAIRS } from './throughput.js'

export interface SoakWindow {
  /** Seconds since the soak began, at the window's end. */
  atSeconds: number
  measure: StepMeasure
  /** The broker's main thread (its JavaScript), % of one core over the window. */
  mainThreadCpuPct: number
  rssMiB: number
}

export interface SoakReport {
  rate: number
  windowMs: number
  windows: SoakWindow[]
}

/**
 * lowband held at one rate for minutes, in windows: whether a broker that has stored hundreds of
 * thousands of messages still costs what a fresh one does. The throughput section's steps are
 * seconds long on a young store; a cost that grows with what is stored (a cache that slows as it
 * fills, LevelDB compactions) shows only here.
 */
export async function measureSoak (rate: number, windows: number, windowMs: number, log: (line: string) => void): Promise<SoakReport> {
  const broker = await startBroker('lowband')
  const result: SoakWindow[] = []
  try {
    await withWarmLoad(broker, PAIRS, rate, async (load) => {
      const started = performance.now()
      for (let i = 0; i < windows; i++) {
        const mainBefore = cpuMs(broker.pid, true)
        const before = performance.now()
        const measure = await load.step(rate, windowMs, 1000)
        const mainThreadCpuPct = Math.round((cpuMs(broker.pid, true) - mainBefore) / (performance.now() - before) * 100)
        const window = { atSeconds: Math.round((performance.now() - started) / 1000), measure, mainThreadCpuPct, rssMiB: Math.round(rssBytes(broker.pid) / 2 ** 20) }
        log(`soak ${rate}/s window ${i + 1}/${windows}: p50 ${measure.latency.p50Ms} ms, p99 ${measure.latency.p99Ms} ms, cpu ${measure.brokerCpuPct} % (main ${mainThreadCpuPct} %), rss ${window.rssMiB} MiB`)
        result.push(window)
      }
    })
  } finally {
    await broker.stop()
  }
  return { rate, windowMs, windows: result }
}
