import type { BytesReport } from './bytes.js'
import { E2E_GOALS, recipientOverhead } from './bytes-e2e.js'
import type { FanoutReport } from './fanout.js'
import type { Machine } from './machine.js'
import type { MemoryReport } from './memory.js'
import type { ProfileReport } from './profile.js'
import type { SoakReport } from './soak.js'
import type { BrokerThroughput, ThroughputSettings } from './throughput.js'

export interface ThroughputReport {
  pairs: number
  clients: number
  generatorProcesses: number
  p99LimitMs: number
  settings: ThroughputSettings
  results: BrokerThroughput[]
}

/** Everything one run measured: the JSON of `--json`, and what the table is drawn from. */
export interface BenchReport {
  command: string
  machine: Machine
  quick: boolean
  durationSeconds: number
  throughput?: ThroughputReport
  memory?: MemoryReport
  bytes?: BytesReport
  fanout?: FanoutReport
  profile?: ProfileReport
  soak?: SoakReport
  goals: Goal[]
  /** Sections that failed, with their error: the others still report. */
  errors: Array<{ section: string, error: string }>
}

export interface Goal {
  name: string
  target: string
  value: string
  met: boolean
}

/** The smallest idle-connection count the memory goal is set for. */
const GOAL_MIN_CONNECTIONS = 10_000

/** The goals, checked against what was measured. */
export function checkGoals (report: Omit<BenchReport, 'goals'>): Goal[] {
  const goals: Goal[] = []
  const throughput = report.throughput?.results
  const lowband = throughput?.find((r) => r.kind === 'lowband')
  const aedes = throughput?.find((r) => r.kind === 'aedes')
  if (lowband !== undefined && aedes !== undefined && aedes.maxSustained > 0) {
    const ratio = lowband.maxSustained / aedes.maxSustained
    goals.push({ name: 'durable 1:1 throughput vs plain Aedes', target: '≥ 0.6×', value: `${ratio.toFixed(2)}× (${lowband.maxSustained} vs ${aedes.maxSustained} msg/s)`, met: ratio >= 0.6 })
  }
  // The worst of the counts (10 000 and up) measured: a smaller count carries more of the
  // broker's fixed growth. A quick run measures only smaller ones: its largest stands in.
  const levels = report.memory?.results.find((r) => r.kind === 'lowband' && !r.clean)?.levels ?? []
  const judged = levels.some((l) => l.connections >= GOAL_MIN_CONNECTIONS) ? levels.filter((l) => l.connections >= GOAL_MIN_CONNECTIONS) : levels.slice(-1)
  const memory = judged.reduce<{ connections: number, perConnectionBytes: number } | undefined>((worst, l) => worst === undefined || l.perConnectionBytes > worst.perConnectionBytes ? l : worst, undefined)
  if (memory !== undefined) {
    goals.push({ name: `memory per idle connection (worst: ${memory.connections})`, target: '≤ 8 KiB', value: `${(memory.perConnectionBytes / 1024).toFixed(1)} KiB`, met: memory.perConnectionBytes <= 8192 })
  }
  const bytes = report.bytes
  if (bytes !== undefined) {
    goals.push({ name: 'bytes per message vs seed JSON/WebSocket', target: '≤ 0.4×', value: `${bytes.ratios.messageVsJson}× (${bytes.lowband.message.total} vs ${bytes.json.message.total} B)`, met: bytes.ratios.messageVsJson <= 0.4 })
    goals.push({ name: 'bytes per message vs MQTT floor', target: '≤ 1.3×', value: `${bytes.ratios.coreVsFloor}× (${bytes.lowbandCore} vs ${bytes.floor.total} B)`, met: bytes.ratios.coreVsFloor <= 1.3 })
    const encrypted = bytes.lowband.encrypted
    if (encrypted !== undefined) {
      const steady = recipientOverhead(encrypted.steady, bytes.lowband.message)
      const first = recipientOverhead(encrypted.first, bytes.lowband.message)
      goals.push({ name: 'encrypted text, steady state: extra bytes on the recipient\'s link', target: `≤ ${E2E_GOALS.steady} B`, value: `+${steady} B`, met: steady <= E2E_GOALS.steady })
      goals.push({ name: 'encrypted text, first of a session (X3DH): extra bytes on the recipient\'s link', target: `≤ ${E2E_GOALS.first} B`, value: `+${first} B`, met: first <= E2E_GOALS.first })
    }
  }
  if (report.fanout !== undefined) {
    const p99 = report.fanout.fromPuback.p99Ms
    goals.push({ name: `fan-out to ${report.fanout.members} members, p99`, target: '≤ 100 ms', value: `${p99} ms`, met: p99 <= 100 })
  }
  return goals
}
