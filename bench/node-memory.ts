import type { BrokerHandle } from './brokers.js'
import type { MemoryUsage, NodeMemory } from './memory.js'
import { cpuMs, rssBytes, sleep } from './proc.js'

/** The heap spaces worth keeping in the report: the young generation, old space and large objects. */
const SPACES = ['new_space', 'old_space', 'large_object_space']
/** How often RSS is read while waiting for it to stop falling, ms. */
const POLL_MS = 5000
/** RSS has settled when it fell by less than this fraction over STABLE_MS. */
const STABLE_FRACTION = 0.005
const STABLE_MS = 20_000
/** V8's memory reducer starts 8 s after a mark-compact (--gc-memory-reducer-start-delay-ms) and runs up to three GCs. */
const MIN_WAIT_MS = 40_000
const MAX_WAIT_MS = 150_000
/** Longest wait for a node's report after its GC, ms. */
const REPORT_WAIT_MS = 30_000

/** The processes' RSS together once they are idle (their CPU under 5 % of a core each) and collected twice. */
export async function idleAndCollected (nodes: readonly BrokerHandle[]): Promise<number> {
  const deadline = Date.now() + 60_000
  const cpu = (): number => nodes.reduce((sum, node) => sum + cpuMs(node.pid), 0)
  for (let before = cpu(); Date.now() < deadline; ) {
    await sleep(500)
    const now = cpu()
    if (now - before < 25 * nodes.length) break
    before = now
  }
  for (let i = 0; i < 2; i++) {
    const previous = nodes.map(reported)
    for (const node of nodes) node.collectGarbage()
    await sleep(1000) // the GC and its report on stderr
    // A node slowed by a busy machine may take longer to answer: wait for a report newer than the last.
    for (const deadline = Date.now() + REPORT_WAIT_MS; Date.now() < deadline && nodes.some((node, n) => node.kind !== 'mosquitto' && reported(node) === previous[n]);) await sleep(250)
  }
  return totalRss(nodes)
}

function reported (node: BrokerHandle): string | undefined {
  const usage = node.lastMemoryUsage()
  return usage === undefined ? undefined : JSON.stringify(usage)
}

/**
 * Waits, without forcing anything, until the nodes' RSS stops falling, then collects as
 * idleAndCollected does. After a connect storm V8 keeps its young generation at the size the storm
 * grew it to (two 16 MiB semispaces, fully touched); its memory reducer — on by default in every
 * Node process, no flag — gives that back once allocation has been low for a while (seen here
 * 15–30 s after the storm). Old-space pages the storm's promoted garbage left part-empty mostly stay
 * (docs/SCALING.md). Returns the settled RSS and how long that took.
 */
export async function afterMemoryReducer (nodes: readonly BrokerHandle[]): Promise<{ rss: number, seconds: number }> {
  const started = Date.now()
  const readings: Array<{ at: number, rss: number }> = [{ at: started, rss: totalRss(nodes) }]
  while (Date.now() - started < MAX_WAIT_MS) {
    await sleep(POLL_MS)
    const now = { at: Date.now(), rss: totalRss(nodes) }
    readings.push(now)
    const then = readings.find((r) => r.at >= now.at - STABLE_MS - POLL_MS / 2)!
    if (now.at - started >= MIN_WAIT_MS && now.at - then.at >= STABLE_MS - POLL_MS / 2 && then.rss - now.rss < then.rss * STABLE_FRACTION) break
  }
  const seconds = Math.round((Date.now() - started) / 1000)
  return { rss: await idleAndCollected(nodes), seconds }
}

/** What the node reported after its last requested GC; the bench cannot go on without it. */
export function memoryUsage (node: BrokerHandle): MemoryUsage {
  const usage = node.lastMemoryUsage()
  if (usage === undefined) throw new Error(`node ${node.pid} reported no memory usage after its GC`)
  const { rss, heapTotal, heapUsed, external, arrayBuffers, heapSpaces } = usage
  const spaces = heapSpaces === undefined ? undefined : Object.fromEntries(Object.entries(heapSpaces).filter(([name]) => SPACES.includes(name)))
  return { rss, heapTotal, heapUsed, external, arrayBuffers, ...(spaces === undefined ? {} : { heapSpaces: spaces }) }
}

/**
 * One node's growth per connection, split: V8 heap in use and committed (committed − used is pages
 * V8 keeps but does not use: its young generation, part-empty old-space pages), memory outside the
 * heap V8 knows of (external), and the rest of RSS (native allocations V8 is not told of — sockets'
 * handles, malloc's arenas — and heap pages first touched, which were committed but not resident).
 */
export function describeNode (n: NodeMemory, stage: 'afterStorm' | 'settled'): string {
  const after = n[stage]
  const perConnection = (pick: (u: MemoryUsage) => number): number => Math.round((pick(after) - pick(n.before)) / Math.max(1, n.connections))
  const space = (name: string) => (u: MemoryUsage): number => u.heapSpaces?.[name]?.committed ?? 0
  return `${n.node} (${n.connections} connections) ${stage === 'afterStorm' ? 'after the storm' : 'settled'}: RSS ${mib(after.rss)} MiB, per connection ${perConnection((u) => u.rss)} B = ` +
    `V8 heap used ${perConnection((u) => u.heapUsed)} + committed unused ${perConnection((u) => u.heapTotal - u.heapUsed)} ` +
    `(young generation ${mib(space('new_space')(after))} MiB committed, old space ${mib(space('old_space')(after))} MiB committed / ${mib(after.heapSpaces?.old_space?.used ?? 0)} used) + ` +
    `external ${perConnection((u) => u.external)} + rest of RSS ${perConnection((u) => u.rss - u.heapTotal - u.external)}`
}

export function mib (bytes: number): string {
  return (bytes / 2 ** 20).toFixed(1)
}

function totalRss (nodes: readonly BrokerHandle[]): number {
  return nodes.reduce((sum, node) => sum + rssBytes(node.pid), 0)
}
