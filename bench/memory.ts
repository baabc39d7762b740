import { startBroker, type BrokerKind, type HeapSpaces } from './brokers.js'
import type { Connected, ConnectMessage } from './idle-clients.js'
import { ask } from './ipc.js'
import { idleAndCollected, mib } from './node-memory.js'
import { fdHardLimit } from './proc.js'
import { mintTokens } from './tokens.js'
import { startWorker, stopWorker } from './workers.js'

/** 1000 users × 100 devices at 100k: one token per user serves all its devices. */
const DEVICES_PER_USER = 100
/** Descriptors a broker needs besides its client sockets (listeners, store files, stdio). */
const FD_HEADROOM = 500
/** Clients per generator process, well under any process's descriptor limit. */
const PER_WORKER = 15_000
/** Connections per loopback source address, under the ~28k ephemeral ports each address has. */
const PER_SOURCE = 20_000
const KEEPALIVE_S = 60 // the SDK's default

export const FULL_LEVELS = [10_000, 50_000, 100_000]
export const QUICK_LEVELS = [1000, 3000]

export interface MemoryLevel {
  connections: number
  rssBytes: number
  /** (RSS now − RSS before any connection) ÷ connections. Goal ≤ 8 KiB for lowband. */
  perConnectionBytes: number
  /** (RSS now − RSS at the previous level) ÷ the connections added: the cost of one more. */
  marginalBytes?: number
  /** Node brokers: V8 heap in use after the GC, ÷ connections, growth since the baseline. */
  heapPerConnectionBytes?: number
  connectSeconds: number
  failed: number
  /**
   * `--nodes N`: the reading right after the connect storm (idle CPU, two full GCs), before V8's
   * memory reducer has given back the young generation the storm grew; `rssBytes` and
   * `perConnectionBytes` are then read once RSS stopped falling.
   */
  afterStorm?: { rssBytes: number, perConnectionBytes: number }
  /** `--nodes N`: seconds from the after-storm reading until RSS stopped falling. */
  settledAfterSeconds?: number
  /** `--nodes N`: each node's memory before the connections, right after the storm, and settled. */
  nodes?: NodeMemory[]
}

/** process.memoryUsage() of a Node broker after a full GC (bench/gc-on-signal.ts), bytes, with its V8 heap spaces. */
export type MemoryUsage = Pick<NodeJS.MemoryUsage, 'rss' | 'heapTotal' | 'heapUsed' | 'external' | 'arrayBuffers'> & { heapSpaces?: HeapSpaces }

/** One cluster node's memory: V8 heap vs the rest of its RSS. */
export interface NodeMemory {
  node: string
  connections: number
  before: MemoryUsage
  afterStorm: MemoryUsage
  settled: MemoryUsage
}

export interface BrokerMemory {
  kind: BrokerKind
  /** Clean-session devices: no MQTT session is kept, which tells what the persistent session costs. */
  clean: boolean
  baselineRssBytes: number
  levels: MemoryLevel[]
}

export interface MemoryReport {
  /** The broker's descriptor limit: it caps the connections one process can hold. */
  fdLimit: number
  requestedLevels: number[]
  measuredLevels: number[]
  /** `--nodes N`: the connections were held by N cluster nodes together (bench/cluster-memory.ts). */
  nodes?: number
  /** Why requested levels were left out, if any were. */
  skipped?: string
  results: BrokerMemory[]
}

/** The levels this machine can hold in one broker process; the largest feasible one replaces any beyond it. */
export function planLevels (requested: readonly number[]): { levels: number[], fdLimit: number, skipped?: string } {
  const fdLimit = fdHardLimit()
  const cap = Math.floor((fdLimit - FD_HEADROOM) / 1000) * 1000
  const levels = requested.filter((n) => n <= cap)
  const left = requested.filter((n) => n > cap)
  if (left.length === 0) return { levels, fdLimit }
  if (!levels.includes(cap)) levels.push(cap)
  return { levels, fdLimit, skipped: `${left.join(', ')} not measured: the hard limit on open files is ${fdLimit} here and cannot be raised (no CAP_SYS_RESOURCE); measured ${cap} instead` }
}

export async function measureMemory (kinds: readonly BrokerKind[], requested: readonly number[], log: (line: string) => void): Promise<MemoryReport> {
  const plan = planLevels(requested)
  if (plan.skipped !== undefined) log(`memory: ${plan.skipped}`)
  const results: BrokerMemory[] = []
  // Devices keep a session as the SDK's reading devices do; lowband once more with clean sessions.
  const runs = [...kinds.map((kind) => ({ kind, clean: false })), { kind: 'lowband' as const, clean: true }]
  for (const [index, run] of runs.entries()) results.push(await measureOne(run.kind, run.clean, index, plan.levels, log))
  return { fdLimit: plan.fdLimit, requestedLevels: [...requested], measuredLevels: plan.levels, ...(plan.skipped === undefined ? {} : { skipped: plan.skipped }), results }
}

async function measureOne (kind: BrokerKind, clean: boolean, index: number, levels: readonly number[], log: (line: string) => void): Promise<BrokerMemory> {
  const name = `${kind}${clean ? ' (clean sessions)' : ''}`
  const max = Math.max(...levels)
  const tokens = kind === 'lowband' ? await mintTokens(Array.from({ length: Math.ceil(max / DEVICES_PER_USER) }, (_, u) => `i${u}`)) : undefined
  // The heap limit is raised for both Node brokers alike: 100k sessions must not hit V8's default.
  const broker = await startBroker(kind, { nodeFlags: ['--max-old-space-size=8192'], gcOnSignal: true })
  const workers = Array.from({ length: Math.ceil(max / PER_WORKER) }, () => startWorker('idle-clients'))
  try {
    const baselineRssBytes = await idleAndCollected([broker])
    const baselineHeap = broker.lastMemoryUsage()?.heapUsed
    log(`memory ${name}: baseline RSS ${mib(baselineRssBytes)} MiB`)
    const measured: MemoryLevel[] = []
    let connected = 0
    for (const level of levels) {
      const started = performance.now()
      // Worker w holds devices [w·PER_WORKER, (w+1)·PER_WORKER); each level adds where the last stopped.
      const replies = await Promise.all(workers.map((worker, w) => {
        const from = Math.max(connected, w * PER_WORKER)
        const to = Math.min(level, (w + 1) * PER_WORKER)
        if (from >= to) return Promise.resolve<Connected>({ type: 'connected', ok: 0, failed: 0 })
        return ask<Connected, ConnectMessage>(worker.child, {
          type: 'connect', port: broker.port, from, to, devicesPerUser: DEVICES_PER_USER,
          ...(tokens === undefined ? {} : { tokens: [...tokens.values()] }),
          // Distinct per broker and worker: no source port is reused while an old socket lingers.
          sourcePrefix: `127.${10 + index}.${w}`, perSource: PER_SOURCE, keepalive: KEEPALIVE_S, clean
        }, 'connected')
      }))
      const connectSeconds = (performance.now() - started) / 1000
      const failed = replies.reduce((sum, r) => sum + r.failed, 0)
      const firstError = replies.find((r) => r.firstError !== undefined)?.firstError
      const previous = measured.at(-1)
      connected = level
      const rss = await idleAndCollected([broker])
      const heap = broker.lastMemoryUsage()?.heapUsed
      const entry: MemoryLevel = {
        connections: level,
        rssBytes: rss,
        perConnectionBytes: Math.round((rss - baselineRssBytes) / level),
        ...(previous === undefined ? {} : { marginalBytes: Math.round((rss - previous.rssBytes) / (level - previous.connections)) }),
        ...(heap === undefined || baselineHeap === undefined ? {} : { heapPerConnectionBytes: Math.round((heap - baselineHeap) / level) }),
        connectSeconds: Math.round(connectSeconds * 10) / 10,
        failed
      }
      measured.push(entry)
      log(`memory ${name}: ${level} connections in ${entry.connectSeconds} s, RSS ${mib(rss)} MiB, ${entry.perConnectionBytes} B per connection${failed > 0 ? `, ${failed} failed (${firstError ?? ''})` : ''}`)
    }
    return { kind, clean, baselineRssBytes, levels: measured }
  } finally {
    // The broker goes first: its side then holds the TIME_WAITs, and the clients' ports stay free.
    await broker.kill()
    await Promise.all(workers.map(stopWorker))
  }
}
