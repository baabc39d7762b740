import type { BrokerHandle } from './brokers.js'
import { makePair, type Pair } from './chat-traffic.js'
import { ask } from './ipc.js'
import { mergeHistograms, summarize, type LatencySummary } from './latency.js'
import type { SetupMessage, StepDone, StepMessage } from './load-generator.js'
import { cpuMsOf, machineTicks } from './proc.js'
import { mintTokens } from './tokens.js'
import { startWorker, stopWorker } from './workers.js'

/** What one load step measured, summed over the generator processes. */
export interface StepMeasure {
  /** Offered load, messages per second. */
  offeredRate: number
  sentRate: number
  deliveredRate: number
  /** Messages due that a sender could not send: its window of unacknowledged publishes was full. */
  blocked: number
  /** Of the messages sent, the share delivered before the step's grace period ended. */
  deliveredShare: number
  latency: LatencySummary
  /** The latency of the messages sent in each second of the step (index 0 = its first second), the generators merged. */
  perSecond?: LatencySummary[]
  /** CPU of the broker process (a cluster: its nodes together) while messages were offered, % of one core (LevelDB's threads count too). */
  brokerCpuPct: number
  /** CPU of the busiest generator process while offering, % of one core: near 100 means it, not the broker, limits. */
  generatorCpuPct: number
  /** All cores of the machine busy while offering, % (near 100: the machine is saturated, whoever uses it). */
  machineCpuPct: number
  /**
   * CPU µs per message sent while offering, by part — `nodes` (the broker process, or a cluster's
   * nodes together), and a cluster's `postgres` and `redis` — from /proc/<pid>/stat utime + stime;
   * 1 000 000 ÷ this is the messages/s one core of that part carries.
   */
  cpuUsPerMessage?: Record<string, number>
}

/**
 * The 1:1 chat load of the throughput section: `pairs` sender → recipient conversations (2 clients
 * each) spread over `processes` generator processes, offered at a chosen rate.
 */
export class ChatLoad {
  readonly #broker: BrokerHandle
  readonly #workers: ReturnType<typeof startWorker>[]

  private constructor (broker: BrokerHandle, workers: ReturnType<typeof startWorker>[]) {
    this.#broker = broker
    this.#workers = workers
  }

  /** `encrypted`: the messages are end-to-end encrypted (kind 3) opaque bodies of a steady-state ciphertext's size. */
  static async open (broker: BrokerHandle, pairs: number, processes: number, encrypted = false): Promise<ChatLoad> {
    const ids = Array.from({ length: pairs }, (_, i) => i)
    const tokens = broker.kind === 'lowband' ? await mintTokens(ids.flatMap((i) => [`s${i}`, `r${i}`])) : new Map<string, string>()
    const all: Pair[] = ids.map((i) => makePair(broker.kind, i, (user) => tokens.get(user)))
    const workers = Array.from({ length: processes }, () => startWorker('load-generator'))
    const load = new ChatLoad(broker, workers)
    try {
      await Promise.all(workers.map((worker, w) => ask(worker.child, {
        type: 'setup', kind: broker.kind, port: broker.port, recipientPort: broker.recipientPort ?? broker.port, encrypted, pairs: all.filter((_, i) => i % processes === w)
      } satisfies SetupMessage, 'ready', 120_000)))
    } catch (error) {
      await load.close()
      throw error
    }
    return load
  }

  /** Offers `rate` messages/s in total for `durationMs`, then waits up to `graceMs` for stragglers. */
  async step (rate: number, durationMs: number, graceMs: number): Promise<StepMeasure> {
    const share = rate / this.#workers.length
    // CPU is sampled over the offering window only, not the grace period after it. The broker is
    // a cluster's nodes together; PostgreSQL's backends are listed at the start (its pool is open by then).
    const parts = this.#broker.parts?.() ?? { nodes: [this.#broker.pid] }
    const brokerPids = parts.nodes ?? [this.#broker.pid]
    const partsBefore = Object.entries(parts).map(([name, pids]) => ({ name, pids, ms: cpuMsOf(pids) }))
    const before = { broker: cpuMsOf(brokerPids), machine: machineTicks(), at: performance.now() }
    let during = { brokerPct: 0, machinePct: 0, partsMs: [] as number[] }
    const sampler = setTimeout(() => {
      const machine = machineTicks()
      during = {
        brokerPct: (cpuMsOf(brokerPids) - before.broker) / (performance.now() - before.at) * 100,
        machinePct: (machine.busy - before.machine.busy) / Math.max(1, machine.total - before.machine.total) * 100,
        partsMs: partsBefore.map((part) => cpuMsOf(part.pids) - part.ms)
      }
    }, durationMs)
    const results = await Promise.all(this.#workers.map((worker) =>
      ask<StepDone, StepMessage>(worker.child, { type: 'step', rate: share, durationMs, graceMs } satisfies StepMessage, 'stepDone', durationMs + graceMs + 60_000)))
    clearTimeout(sampler)
    const sum = (field: 'sent' | 'delivered' | 'blocked'): number => results.reduce((total, r) => total + r[field], 0)
    const histogram = mergeHistograms(results.map((r) => r.histogram))
    const latency = summarize(histogram)
    histogram.destroy()
    const seconds = Math.max(...results.map((r) => r.perSecond.length))
    const perSecond = Array.from({ length: seconds }, (_, i) => {
      const merged = mergeHistograms(results.map((r) => r.perSecond[i] ?? '').filter((one) => one !== ''))
      const summary = summarize(merged)
      merged.destroy()
      return summary
    })
    const sent = sum('sent')
    return {
      offeredRate: rate,
      sentRate: sent / durationMs * 1000,
      deliveredRate: sum('delivered') / durationMs * 1000,
      blocked: sum('blocked'),
      deliveredShare: sent === 0 ? 1 : sum('delivered') / sent,
      latency,
      perSecond,
      brokerCpuPct: Math.round(during.brokerPct),
      generatorCpuPct: Math.round(Math.max(...results.map((r) => r.cpuMs / durationMs * 100))),
      machineCpuPct: Math.round(during.machinePct),
      ...(sent === 0
        ? {}
        : { cpuUsPerMessage: Object.fromEntries(partsBefore.map((part, i) => [part.name, Math.round((during.partsMs[i] ?? 0) * 1000 / sent)])) })
    }
  }

  async close (): Promise<void> {
    await Promise.all(this.#workers.map(stopWorker))
  }
}

/**
 * Runs `work` under the 1:1 load on `broker` (`pairs` pairs over 2 generator processes), after the
 * throughput section's warm-up at half `rate`, and closes the load afterwards.
 */
export async function withWarmLoad<T> (broker: BrokerHandle, pairs: number, rate: number, work: (load: ChatLoad) => Promise<T>): Promise<T> {
  const load = await ChatLoad.open(broker, pairs, 2)
  try {
    await load.step(rate / 2, 1000, 2000)
    return await work(load)
  } finally {
    await load.close()
  }
}
