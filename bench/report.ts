import type { AbuseReport } from './abuse.js'
import { BYTES_GOALS, type BytesReport } from './bytes.js'
import { E2E_GOALS, recipientOverhead } from './bytes-e2e.js'
import { CROSS_NODE_GOAL_MS, type CrossNodeLatency } from './cross-node.js'
import type { FanoutReport } from './fanout.js'
import type { Machine } from './machine.js'
import type { MemoryReport } from './memory.js'
import type { ProfileReport } from './profile.js'
import type { PushReport } from './push.js'
import type { SoakReport } from './soak.js'
import { embeddedLowband, type BrokerThroughput, type ThroughputSettings } from './throughput.js'

export interface ThroughputReport {
  pairs: number
  clients: number
  generatorProcesses: number
  p99LimitMs: number
  settings: ThroughputSettings
  results: BrokerThroughput[]
  /** `--cluster`: one light load same-node vs cross-node. */
  crossNode?: CrossNodeLatency
}

/** The issue's goal for `--cluster`: two nodes on PostgreSQL carry at least this share of the embedded single node. */
export const CLUSTER_GOAL_RATIO = 0.8

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
  push?: PushReport
  abuse?: AbuseReport
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

/** Issue 18's throughput and tail goals. */
const THROUGHPUT_GOALS = { vsFloor: 0.8, floorVsAedes: 0.7, vsAedes: 0.55, tailVsAedes: 3 } as const

/** The smallest idle-connection count the memory goal is set for. */
const GOAL_MIN_CONNECTIONS = 10_000

/** The issue's goals, checked against what was measured. */
export function checkGoals (report: Omit<BenchReport, 'goals'>): Goal[] {
  const goals: Goal[] = []
  const throughput = report.throughput?.results
  const embedded = throughput === undefined ? undefined : embeddedLowband(throughput)
  const aedes = throughput?.find((r) => r.kind === 'aedes')
  const floor = throughput?.find((r) => r.kind === 'aedes-protocol')
  const ratioGoal = (name: string, of: BrokerThroughput | undefined, to: BrokerThroughput | undefined, least: number): void => {
    if (of === undefined || to === undefined || to.maxSustained === 0) return
    const ratio = of.maxSustained / to.maxSustained
    goals.push({ name, target: `≥ ${least}×`, value: `${ratio.toFixed(2)}× (${of.maxSustained} vs ${to.maxSustained} msg/s)`, met: ratio >= least })
  }
  // Issue 18: lowband against its protocol's floor, the floor against plain Aedes, and so lowband against plain Aedes.
  ratioGoal('durable 1:1 throughput vs the protocol floor (aedes-protocol)', embedded, floor, THROUGHPUT_GOALS.vsFloor)
  ratioGoal('the protocol floor vs plain Aedes', floor, aedes, THROUGHPUT_GOALS.floorVsAedes)
  ratioGoal('durable 1:1 throughput vs plain Aedes', embedded, aedes, THROUGHPUT_GOALS.vsAedes)
  const sameRate = aedes?.atLowbandHalf?.latency
  if (embedded !== undefined && sameRate !== undefined && sameRate.p99Ms > 0) {
    const ratio = embedded.atHalf.latency.p99Ms / sameRate.p99Ms
    goals.push({ name: `p99 at half of lowband's maximum vs plain Aedes at that rate (${Math.round(embedded.atHalf.offeredRate)} msg/s)`, target: `≤ ${THROUGHPUT_GOALS.tailVsAedes}×`, value: `${ratio.toFixed(2)}× (${embedded.atHalf.latency.p99Ms} vs ${sameRate.p99Ms} ms)`, met: ratio <= THROUGHPUT_GOALS.tailVsAedes })
  }
  const twoNodes = throughput?.find((r) => r.cluster?.nodes === 2)
  if (embedded !== undefined && twoNodes !== undefined && embedded.maxSustained > 0) {
    const ratio = twoNodes.maxSustained / embedded.maxSustained
    goals.push({ name: `durable 1:1 throughput, 2 nodes on PostgreSQL + Redis (${twoNodes.cluster!.placement}) vs the embedded single node`, target: `≥ ${CLUSTER_GOAL_RATIO}×`, value: `${ratio.toFixed(2)}× (${twoNodes.maxSustained} vs ${embedded.maxSustained} msg/s)`, met: ratio >= CLUSTER_GOAL_RATIO })
  }
  const crossNode = report.throughput?.crossNode
  if (crossNode !== undefined) {
    goals.push({ name: `cross-node delivery: added p50 at ${crossNode.rate} msg/s`, target: `≤ ${CROSS_NODE_GOAL_MS} ms`, value: `${crossNode.addedP50Ms} ms (${crossNode.crossNode.p50Ms} vs ${crossNode.sameNode.p50Ms} ms)`, met: crossNode.addedP50Ms <= CROSS_NODE_GOAL_MS })
  }
  // The worst of the issue's counts (10 000 and up) measured: a smaller count carries more of the
  // broker's fixed growth. A quick run measures only smaller ones: its largest stands in.
  const levels = report.memory?.results.find((r) => r.kind === 'lowband' && !r.clean)?.levels ?? []
  const judged = levels.some((l) => l.connections >= GOAL_MIN_CONNECTIONS) ? levels.filter((l) => l.connections >= GOAL_MIN_CONNECTIONS) : levels.slice(-1)
  const memory = judged.reduce<{ connections: number, perConnectionBytes: number } | undefined>((worst, l) => worst === undefined || l.perConnectionBytes > worst.perConnectionBytes ? l : worst, undefined)
  if (memory !== undefined) {
    goals.push({ name: `memory per idle connection (worst: ${memory.connections})`, target: '≤ 8 KiB', value: `${(memory.perConnectionBytes / 1024).toFixed(1)} KiB`, met: memory.perConnectionBytes <= 8192 })
  }
  const bytes = report.bytes
  if (bytes !== undefined) {
    goals.push({ name: 'bytes per message vs seed JSON/WebSocket', target: `≤ ${BYTES_GOALS.messageVsJson}×`, value: `${bytes.ratios.messageVsJson}× (${bytes.lowband.message.total} vs ${bytes.json.message.total} B)`, met: bytes.ratios.messageVsJson <= BYTES_GOALS.messageVsJson })
    goals.push({ name: 'bytes per message vs MQTT floor', target: `≤ ${BYTES_GOALS.coreVsFloor}×`, value: `${bytes.ratios.coreVsFloor}× (${bytes.lowbandCore} vs ${bytes.floor.total} B)`, met: bytes.ratios.coreVsFloor <= BYTES_GOALS.coreVsFloor })
    if (bytes.media !== undefined) {
      goals.push({ name: 'media message on the recipient\'s link (no thumbnail)', target: '≤ 120 B', value: `${bytes.media.recipientLink} B`, met: bytes.media.recipientLink <= 120 })
    }
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
  const push = report.push
  if (push !== undefined) {
    goals.push({ name: 'send → push at FCM, p50', target: '≤ 50 ms', value: `${push.sendToPush.p50Ms} ms`, met: push.sendToPush.p50Ms <= 50 })
    goals.push({ name: 'send → push at FCM, p99', target: '≤ 200 ms', value: `${push.sendToPush.p99Ms} ms`, met: push.sendToPush.p99Ms <= 200 })
    goals.push({ name: `pushes for ${push.settings.recipients} sleeping phones × ${push.settings.messagesEach} messages`, target: `exactly ${push.settings.recipients}`, value: String(push.load.pushes), met: push.load.pushes === push.settings.recipients })
    goals.push({ name: 'sender PUBACK p99 with push vs without', target: '≤ 1.2×', value: `${push.load.p99Ratio}× (${push.load.pubackWithPush.p99Ms} vs ${push.load.pubackWithoutPush.p99Ms} ms)`, met: push.load.p99Ratio <= 1.2 })
  }
  const abuse = report.abuse
  if (abuse !== undefined) {
    const quiet = abuse.phases[0]!
    for (const phase of abuse.phases.filter((p) => p.p99Ratio !== undefined)) {
      // A p99 of what arrived says nothing when some of it did not.
      const complete = phase.latency.count === phase.sent && quiet.latency.count === quiet.sent
      const value = `${phase.p99Ratio}× (${phase.latency.p99Ms} vs ${quiet.latency.p99Ms} ms)${complete ? '' : `; delivered ${phase.latency.count} of ${phase.sent}`}`
      goals.push({ name: `others' p99 under attack: ${phase.name}`, target: '≤ 2× quiet', value, met: complete && phase.p99Ratio! <= 2 })
    }
    const lost = abuse.lost.pairs + abuse.lost.slowReader
    goals.push({ name: 'acknowledged messages lost under attack', target: '0', value: String(lost), met: lost === 0 })
    const worst = abuse.phases.filter((p) => p.name !== 'quiet').reduce((a, b) => b.rssGrowthMiB > a.rssGrowthMiB ? b : a)
    goals.push({ name: `broker RSS growth in one attack (worst: ${worst.name})`, target: '≤ 64 MiB', value: `${worst.rssGrowthMiB} MiB`, met: worst.rssGrowthMiB <= 64 })
  }
  return goals
}
