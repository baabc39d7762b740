import { ChatLoad } from './chat-load.js'
import { startLowbandCluster, type Placement } from './cluster-brokers.js'
import type { LatencySummary } from './latency.js'
import { PAIRS, type ThroughputSettings } from './throughput.js'

/** A light load: far below any broker's limit, so the figure is the path's cost, not a queue's. */
export const CROSS_NODE_RATE = 200 // messages/s
/** The goal: cross-node delivery adds at most this to p50. */
export const CROSS_NODE_GOAL_MS = 2

export interface CrossNodeLatency {
  rate: number
  sameNode: LatencySummary
  crossNode: LatencySummary
  /** crossNode p50 − sameNode p50, ms. */
  addedP50Ms: number
}

/**
 * The same light 1:1 load on a two-node cluster, once with each pair's recipient on the sender's
 * node and once on the other node (each on a fresh cluster, after a warm-up): what crossing nodes
 * adds to the send → delivery latency.
 */
export async function measureCrossNode (settings: ThroughputSettings, log: (line: string) => void): Promise<CrossNodeLatency> {
  const measure = async (placement: Placement): Promise<LatencySummary> => {
    const broker = await startLowbandCluster(2, placement)
    try {
      const load = await ChatLoad.open(broker, PAIRS, 2)
      try {
        await load.step(CROSS_NODE_RATE, settings.warmupMs, settings.graceMs)
        const { latency } = await load.step(CROSS_NODE_RATE, settings.halfMs, settings.graceMs)
        log(`2 nodes, ${placement}, ${CROSS_NODE_RATE}/s: p50 ${latency.p50Ms} ms, p99 ${latency.p99Ms} ms`)
        return latency
      } finally {
        await load.close()
      }
    } finally {
      await broker.kill()
    }
  }
  const sameNode = await measure('same-node')
  const crossNode = await measure('cross-node')
  return { rate: CROSS_NODE_RATE, sameNode, crossNode, addedP50Ms: Math.round((crossNode.p50Ms - sameNode.p50Ms) * 100) / 100 }
}
