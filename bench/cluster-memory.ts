import { randomBytes } from 'node:crypto'
import { startBroker, type BrokerHandle } from './brokers.js'
import type { Connected, ConnectMessage } from './idle-clients.js'
import { ask } from './ipc.js'
import type { BrokerMemory, MemoryReport } from './memory.js'
import { cpuMs, fdHardLimit, rssBytes, sleep } from './proc.js'
import { startServices } from './services.js'
import { mintTokens } from './tokens.js'
import { startWorker, stopWorker } from './workers.js'

const DEVICES_PER_USER = 100
/** Clients per generator process, and per loopback source address (each has ~28k ephemeral ports). */
const PER_WORKER = 10_000
const PER_SOURCE = 10_000
const KEEPALIVE_S = 60
/** Descriptors a node needs besides its client sockets (listeners, Redis, PostgreSQL, stdio). */
const FD_HEADROOM = 500

/**
 * `--only memory --nodes N`: idle authenticated connections held by N cluster nodes (lowband start
 * --redis --postgres), each under the per-process open-files limit, devices spread evenly, every
 * generator on loopback addresses of its own. Per connection = growth of the nodes' RSS together
 * ÷ connections; Redis' memory is reported beside it (the registry of who is where).
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
    const baseline = await settledRss(nodes)
    log(`memory ${nodeCount} nodes: baseline RSS ${mib(baseline)} MiB together`)
    const started = performance.now()
    // Each generator from loopback addresses of its own: 127.(20 + w / 250).(w mod 250).x.
    const replies = await Promise.all(workers.map((worker, w) => ask<Connected, ConnectMessage>(worker.child, {
      type: 'connect', port: nodes[blocks[w]!.node]!.port, from: blocks[w]!.from, to: blocks[w]!.to,
      devicesPerUser: DEVICES_PER_USER, tokens: [...tokens.values()],
      sourcePrefix: `127.${20 + Math.floor(w / 250)}.${w % 250}`, perSource: PER_SOURCE, keepalive: KEEPALIVE_S, clean: false
    }, 'connected')))
    const connectSeconds = Math.round((performance.now() - started) / 100) / 10
    const failed = replies.reduce((sum, r) => sum + r.failed, 0)
    const rss = await settledRss(nodes)
    const perNodeRss = nodes.map((node) => mib(rssBytes(node.pid))).join(', ')
    log(`memory ${nodeCount} nodes: ${connections} connections in ${connectSeconds} s, RSS ${mib(rss)} MiB (${perNodeRss}), ${Math.round((rss - baseline) / connections)} B per connection${failed > 0 ? `, ${failed} failed (${replies.find((r) => r.firstError !== undefined)?.firstError ?? ''})` : ''}`)
    const result: BrokerMemory = {
      kind: 'lowband',
      clean: false,
      baselineRssBytes: baseline,
      levels: [{ connections, rssBytes: rss, perConnectionBytes: Math.round((rss - baseline) / connections), connectSeconds, failed }]
    }
    return { fdLimit, requestedLevels: [connections], measuredLevels: [connections], nodes: nodeCount, results: [result] }
  } finally {
    await Promise.all(nodes.map((node) => node.kill()))
    await Promise.all(workers.map(stopWorker))
    await services.stop()
  }
}

/** The nodes' RSS together once they are idle and collected (as memory.ts's settledRss, for several). */
async function settledRss (nodes: readonly BrokerHandle[]): Promise<number> {
  const deadline = Date.now() + 60_000
  const cpu = (): number => nodes.reduce((sum, node) => sum + cpuMs(node.pid), 0)
  for (let before = cpu(); Date.now() < deadline; ) {
    await sleep(500)
    const now = cpu()
    if (now - before < 25 * nodes.length) break
    before = now
  }
  for (let i = 0; i < 2; i++) {
    for (const node of nodes) node.collectGarbage()
    await sleep(1000)
  }
  return nodes.reduce((sum, node) => sum + rssBytes(node.pid), 0)
}

function mib (bytes: number): string {
  return (bytes / 2 ** 20).toFixed(1)
}
