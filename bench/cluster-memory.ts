import { randomBytes } from 'node:crypto'
import { startBroker, type BrokerHandle } from './brokers.js'
import type { Connected, ConnectMessage } from './idle-clients.js'
import { ask } from './ipc.js'
import type { BrokerMemory, MemoryReport, NodeMemory } from './memory.js'
import { afterMemoryReducer, describeNode, idleAndCollected, memoryUsage, mib } from './node-memory.js'
import { fdHardLimit } from './proc.js'
import { startServices } from './services.js'
import { mintTokens } from './tokens.js'
import { startWorker, stopWorker } from './workers.js'

const DEVICES_PER_USER = 100
/** Clients per generator process, and per loopback source address (each has ~28k ephemeral ports). */
const PER_WORKER = 10_000
const PER_SOURCE = 10_000
const KEEPALIVE_S = 60
/** 100 000 connects took 438 s on the quiet machine; a shared one needs more than ask's default 600 s. */
const CONNECT_TIMEOUT_MS = 30 * 60_000
/** Descriptors a node needs besides its client sockets (listeners, Redis, PostgreSQL, stdio). */
const FD_HEADROOM = 500

/**
 * `--only memory --nodes N`: idle authenticated connections held by N cluster nodes (lowband start
 * --redis --postgres), each under the per-process open-files limit, devices spread evenly, every
 * generator on loopback addresses of its own. Per connection = growth of the nodes' RSS together
 * ÷ connections, read twice: right after the connect storm, and once V8's memory reducer (every
 * Node process has it, no flag) has given back what the storm alone needed and RSS stopped falling —
 * what the nodes keep for as long as the devices stay. The second is the figure judged; each node's
 * split into V8 heap (by space) and the rest of RSS is reported at both.
 */
export async function measureClusterMemory (nodeCount: number, connections: number, log: (line: string) => void): Promise<MemoryReport> {
  const fdLimit = fdHardLimit()
  const perNode = Math.ceil(connections / nodeCount)
  if (perNode > fdLimit - FD_HEADROOM) throw new Error(`${perNode} connections per node exceed this machine's open-files limit (${fdLimit}); use more --nodes`)
  const services = await startServices()
  const nodes: BrokerHandle[] = []
  // Node i holds devices [i·perNode, (i+1)·perNode), in blocks of PER_WORKER, one generator each.
  const blocks = Array.from({ length: nodeCount }, (_, i) => {
    const from = i * perNode
    const to = Math.min(connections, from + perNode)
    return Array.from({ length: Math.max(0, Math.ceil((to - from) / PER_WORKER)) }, (_, b) => ({ node: i, from: from + b * PER_WORKER, to: Math.min(to, from + (b + 1) * PER_WORKER) }))
  }).flat()
  const workers = blocks.map(() => startWorker('idle-clients'))
  try {
    const cluster = ['--redis', services.redisUrl, '--postgres', services.postgresUrl, '--cluster-name', `bench-${randomBytes(3).toString('hex')}`]
    for (let i = 0; i < nodeCount; i++) {
      nodes.push(await startBroker('lowband', { nodeFlags: ['--max-old-space-size=4096'], gcOnSignal: true, lowbandOptions: [...cluster, '--node-id', `n${i}`] }))
    }
    const tokens = await mintTokens(Array.from({ length: Math.ceil(connections / DEVICES_PER_USER) }, (_, u) => `i${u}`))
    const baseline = await idleAndCollected(nodes)
    const before = nodes.map(memoryUsage)
    log(`memory ${nodeCount} nodes: baseline RSS ${mib(baseline)} MiB together`)
    const started = performance.now()
    // Each generator from loopback addresses of its own: 127.(20 + w / 250).(w mod 250).x.
    const replies = await Promise.all(workers.map((worker, w) => ask<Connected, ConnectMessage>(worker.child, {
      type: 'connect', port: nodes[blocks[w]!.node]!.port, from: blocks[w]!.from, to: blocks[w]!.to,
      devicesPerUser: DEVICES_PER_USER, tokens: [...tokens.values()],
      sourcePrefix: `127.${20 + Math.floor(w / 250)}.${w % 250}`, perSource: PER_SOURCE, keepalive: KEEPALIVE_S, clean: false
    }, 'connected', CONNECT_TIMEOUT_MS)))
    const connectSeconds = Math.round((performance.now() - started) / 100) / 10
    const failed = replies.reduce((sum, r) => sum + r.failed, 0)
    const perConnection = (rss: number): number => Math.round((rss - baseline) / connections)
    const stormRss = await idleAndCollected(nodes)
    const afterStorm = nodes.map(memoryUsage)
    log(`memory ${nodeCount} nodes: ${connections} connections in ${connectSeconds} s, right after: RSS ${mib(stormRss)} MiB (${afterStorm.map((u) => mib(u.rss)).join(', ')}), ${perConnection(stormRss)} B per connection${failed > 0 ? `, ${failed} failed (${replies.find((r) => r.firstError !== undefined)?.firstError ?? ''})` : ''}`)
    const reduced = await afterMemoryReducer(nodes)
    const perNode: NodeMemory[] = nodes.map((node, i) => ({
      node: `n${i}`,
      connections: blocks.filter((b) => b.node === i).reduce((sum, b) => sum + b.to - b.from, 0),
      before: before[i]!,
      afterStorm: afterStorm[i]!,
      settled: memoryUsage(node)
    }))
    log(`memory ${nodeCount} nodes: settled ${reduced.seconds} s later (V8's memory reducer): RSS ${mib(reduced.rss)} MiB (${perNode.map((n) => mib(n.settled.rss)).join(', ')}), ${perConnection(reduced.rss)} B per connection`)
    for (const n of perNode) for (const stage of ['afterStorm', 'settled'] as const) log(`memory ${nodeCount} nodes: ${describeNode(n, stage)}`)
    const heapGrowth = perNode.reduce((sum, n) => sum + n.settled.heapUsed - n.before.heapUsed, 0)
    const result: BrokerMemory = {
      kind: 'lowband',
      clean: false,
      baselineRssBytes: baseline,
      levels: [{
        connections,
        rssBytes: reduced.rss,
        perConnectionBytes: perConnection(reduced.rss),
        heapPerConnectionBytes: Math.round(heapGrowth / connections),
        afterStorm: { rssBytes: stormRss, perConnectionBytes: perConnection(stormRss) },
        settledAfterSeconds: reduced.seconds,
        connectSeconds,
        failed,
        nodes: perNode
      }]
    }
    return { fdLimit, requestedLevels: [connections], measuredLevels: [connections], nodes: nodeCount, results: [result] }
  } finally {
    await Promise.all(nodes.map((node) => node.kill()))
    await Promise.all(workers.map(stopWorker))
    await services.stop()
  }
}
