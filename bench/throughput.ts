import { startBroker, type BrokerHandle, type BrokerKind, type LowbandStore } from './brokers.js'
import { ChatLoad, type StepMeasure } from './chat-load.js'
import { startLowbandCluster, type Placement } from './cluster-brokers.js'
import { sleep } from './proc.js'

/** 100 sender → recipient pairs: 200 clients, all online. */
export const PAIRS = 100
const GENERATORS = 2
const START_RATE = 1000 // messages/s
const MAX_RATE = 200_000 // messages/s; bounds the search
/**
 * A step is sustained when the generators sent what was offered, 99 % of it was delivered by the end
 * of the grace period, and p99 stayed within the reference write-up's delivery target (shared/seeds:
 * "Low latency (<200ms message delivery)"); a growing backlog crosses it within a step.
 */
export const P99_LIMIT_MS = 200

export interface ThroughputSettings {
  /** A first, unmeasured run at half the start rate: JIT, connections, the store's first files. */
  warmupMs: number
  stepMs: number
  graceMs: number
  halfMs: number
  growth: number
  bisections: number
  /** Encrypted-size opaque bodies (kind 3) instead of plaintext text (`--encrypted`). */
  encrypted?: boolean
}

export const FULL_THROUGHPUT: ThroughputSettings = { warmupMs: 3000, stepMs: 4000, graceMs: 3000, halfMs: 10_000, growth: 1.5, bisections: 2 }
export const QUICK_THROUGHPUT: ThroughputSettings = { warmupMs: 1000, stepMs: 1500, graceMs: 2000, halfMs: 3000, growth: 2, bisections: 1 }

export interface StepOutcome extends StepMeasure {
  sustained: boolean
  /** This is the rate's second run: its first run, kept here as measured, failed. */
  firstTry?: StepOutcome
  /** Why a step failed: "latency", "delivery", "backpressure" (sender windows full) or "generator" (it could not offer the rate). */
  failure?: string
}

/** lowband as a cluster on PostgreSQL and Redis (`--cluster`). */
export interface ClusterSetup {
  nodes: number
  placement: Placement
}

export interface BrokerThroughput {
  kind: BrokerKind
  /** lowband's message store, when not the embedded default (`--store postgres`). */
  store?: LowbandStore
  /** lowband as cluster nodes on PostgreSQL + Redis (`--cluster`). */
  cluster?: ClusterSetup
  steps: StepOutcome[]
  /** Delivered messages/s of the highest sustained step. */
  maxSustained: number
  /** What ended the search: the failure of the first step above the maximum. */
  limitedBy: string
  /** A longer run at 50 % of the maximum: the latency figures. */
  atHalf: StepMeasure
  /**
   * A reference broker's run at the rate of lowband's `atHalf` (its offered rate), the same length:
   * issue 18's tail goal compares lowband's p99 at half its maximum with this broker's p99 at the
   * same offered rate, not at half of the reference's own maximum.
   */
  atLowbandHalf?: StepMeasure
}

/** lowband on its embedded store, one process: the row every goal and ratio is about. */
export function embeddedLowband (results: readonly BrokerThroughput[]): BrokerThroughput | undefined {
  return results.find((r) => r.kind === 'lowband' && r.store === undefined && r.cluster === undefined)
}

/** A broker and its load generators, started together and replaced together. */
interface Rig { broker: BrokerHandle, load: ChatLoad }

/** What a result row is called: the broker, and lowband's store or cluster. */
export function throughputLabel (r: Pick<BrokerThroughput, 'kind' | 'store' | 'cluster'>): string {
  if (r.cluster !== undefined) return `${r.kind} (postgres + redis, ${r.cluster.nodes} node${r.cluster.nodes === 1 ? '' : 's'}${r.cluster.nodes > 1 ? `, ${r.cluster.placement}` : ''})`
  return r.store === undefined ? r.kind : `${r.kind} (${r.store})`
}

async function openRig (kind: BrokerKind, settings: ThroughputSettings, store: LowbandStore | undefined, cluster?: ClusterSetup): Promise<Rig> {
  const broker = cluster !== undefined ? await startLowbandCluster(cluster.nodes, cluster.placement) : await startBroker(kind, store === undefined ? {} : { store })
  const load = await ChatLoad.open(broker, PAIRS, GENERATORS, settings.encrypted === true).catch(async (error: unknown) => { await broker.kill(); throw error })
  await load.step(START_RATE / 2, settings.warmupMs, settings.graceMs)
  return { broker, load }
}

async function closeRig (rig: Rig): Promise<void> {
  await rig.load.close()
  // Killed, not stopped: an overloaded broker may hold a backlog nobody needs delivered.
  await rig.broker.kill()
}

/** The latency run: a fresh broker, a warm-up at the rate, then `halfMs` at it. */
async function latencyAt (rig: Rig, rate: number, settings: ThroughputSettings): Promise<StepMeasure> {
  await rig.load.step(rate, settings.warmupMs, settings.graceMs)
  return rig.load.step(rate, settings.halfMs, settings.graceMs)
}

/**
 * The ladder, then the latency at half the maximum found; with `lowbandHalf` (a reference broker,
 * lowband measured first) also the latency at lowband's half rate.
 */
export async function measureThroughput (kind: BrokerKind, settings: ThroughputSettings, log: (line: string) => void, store?: LowbandStore, cluster?: ClusterSetup, lowbandHalf?: number): Promise<BrokerThroughput> {
  const label = throughputLabel({ kind, store, cluster })
  let rig = await openRig(kind, settings, store, cluster)
  try {
    const steps: StepOutcome[] = []
    const once = async (rate: number): Promise<StepOutcome> => {
      const outcome = judge(await rig.load.step(Math.round(rate), settings.stepMs, settings.graceMs))
      log(`${label} ${Math.round(rate)}/s → ${Math.round(outcome.deliveredRate)}/s delivered, p99 ${outcome.latency.p99Ms} ms, cpu broker ${outcome.brokerCpuPct} % generator ${outcome.generatorCpuPct} % machine ${outcome.machineCpuPct} %${outcome.sustained ? '' : ` ✗ ${outcome.failure}`}`)
      if (outcome.sustained) {
        await sleep(500)
      } else {
        // An overloaded broker keeps its backlog (queued and in-flight messages) into the next step,
        // which would then fail for the previous one's sake: every step after a failure starts fresh.
        await closeRig(rig)
        rig = await openRig(kind, settings, store, cluster)
      }
      return outcome
    }
    // A failed step runs once more before it counts: on a shared machine one stall of another
    // process can fail a step the broker would sustain. Both runs are kept, and the table says
    // which steps passed only on their second try.
    const run = async (rate: number): Promise<StepOutcome> => {
      const first = await once(rate)
      return first.sustained ? first : { ...await once(rate), firstTry: first }
    }
    let best: StepOutcome | undefined
    let failed: StepOutcome | undefined
    for (let rate = START_RATE; rate <= MAX_RATE; rate *= settings.growth) {
      const outcome = await run(rate)
      steps.push(outcome)
      if (!outcome.sustained) { failed = outcome; break }
      best = outcome
    }
    for (let rate = START_RATE / 2; best === undefined && rate >= 50; rate /= 2) {
      const outcome = await run(rate)
      steps.push(outcome)
      if (outcome.sustained) best = outcome
    }
    for (let i = 0; i < settings.bisections && best !== undefined && failed !== undefined; i++) {
      const outcome = await run(Math.sqrt(best.offeredRate * failed.offeredRate))
      steps.push(outcome)
      if (outcome.sustained) best = outcome
      else failed = outcome
    }
    const max = best?.deliveredRate ?? 0
    // Latency is taken on a fresh broker for every broker alike, after a warm-up at the same rate.
    await closeRig(rig)
    rig = await openRig(kind, settings, store, cluster)
    const atHalf = await latencyAt(rig, Math.max(1, max / 2), settings)
    log(`${label} at half (${Math.round(max / 2)}/s): p50 ${atHalf.latency.p50Ms} ms, p99 ${atHalf.latency.p99Ms} ms`)
    let atLowbandHalf: StepMeasure | undefined
    if (lowbandHalf !== undefined) {
      await closeRig(rig)
      rig = await openRig(kind, settings, store, cluster)
      atLowbandHalf = await latencyAt(rig, lowbandHalf, settings)
      log(`${label} at lowband's half (${lowbandHalf}/s): p50 ${atLowbandHalf.latency.p50Ms} ms, p99 ${atLowbandHalf.latency.p99Ms} ms`)
    }
    steps.sort((a, b) => a.offeredRate - b.offeredRate)
    return { kind, ...(store === undefined ? {} : { store }), ...(cluster === undefined ? {} : { cluster }), steps, maxSustained: Math.round(max), limitedBy: failed?.failure ?? `not reached below ${MAX_RATE}/s`, atHalf, ...(atLowbandHalf === undefined ? {} : { atLowbandHalf }) }
  } finally {
    await closeRig(rig)
  }
}

function judge (measure: StepMeasure): StepOutcome {
  const failure = measure.blocked > 0
    ? 'backpressure'
    : measure.sentRate < measure.offeredRate * 0.97
      ? 'generator'
      : measure.deliveredShare < 0.99
        ? 'delivery'
        : measure.latency.p99Ms > P99_LIMIT_MS ? 'latency' : undefined
  return failure === undefined ? { ...measure, sustained: true } : { ...measure, sustained: false, failure }
}
