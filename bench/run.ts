import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { FULL_ABUSE, measureAbuse, QUICK_ABUSE } from './abuse.js'
import { parseArgs, SECTIONS, type Section } from './args.js'
import { isStoredBaseline } from './baseline-hooks.js'
import type { BrokerKind } from './brokers.js'
import { measureBytes } from './bytes.js'
import { measureClusterMemory } from './cluster-memory.js'
import { measureCrossNode } from './cross-node.js'
import { measureFanout } from './fanout.js'
import { FULL_PUSH, measurePush, QUICK_PUSH } from './push.js'
import { describeMachine } from './machine.js'
import { FULL_LEVELS, measureMemory, QUICK_LEVELS } from './memory.js'
import { profileLowband } from './profile.js'
import { renderReport } from './render.js'
import { checkGoals, type BenchReport } from './report.js'
import { measureSoak } from './soak.js'
import { FULL_THROUGHPUT, measureThroughput, P99_LIMIT_MS, PAIRS, QUICK_THROUGHPUT } from './throughput.js'

/**
 * `npm run bench -- [--json] [--quick] [--only …]`: lowband beside plain Aedes and mosquitto, every
 * broker a child process on loopback. Progress goes to stderr; the table (or with --json one JSON
 * object) to stdout. Never part of the test run.
 */
const args = parseArgs(process.argv.slice(2))
/** The issue's goal for `--only memory --nodes 6`. */
const CLUSTER_CONNECTIONS = 100_000
if (args.render !== undefined) {
  // The report is the one line that is a JSON object: `npm run` (without -s) prints banners around it.
  const line = (await readFile(args.render, 'utf8')).split('\n').find((l) => l.startsWith('{'))
  if (line === undefined) throw new Error(`${args.render} holds no report saved with --json`)
  // Judged against the goals as they stand now, on the figures the report saved.
  const saved = JSON.parse(line) as BenchReport
  process.stdout.write(`${renderReport({ ...saved, goals: checkGoals(saved) })}\n`)
  process.exit(0)
}
const log = (line: string): void => { process.stderr.write(`bench: ${line}\n`) }
const started = performance.now()
const kinds: BrokerKind[] = ['lowband', ...args.brokers]
const report: Omit<BenchReport, 'goals'> = {
  command: `npm run bench --${process.argv.slice(2).map((a) => ` ${a}`).join('')}`,
  // Mosquitto's version only where it runs: describing the machine must not install it.
  machine: describeMachine(args.brokers.includes('mosquitto') && args.only.some((s) => s === 'throughput' || s === 'memory')),
  quick: args.quick,
  durationSeconds: 0,
  errors: []
}
log(`on ${report.machine.cpuModel} × ${report.machine.cores}, Node ${report.machine.node}, load average ${report.machine.loadAverage1m}`)

/** Runs a section; a failure is recorded and the other sections still run. */
async function section (name: Section, run: () => Promise<void>): Promise<void> {
  if (!args.only.includes(name)) return
  log(`— ${name}`)
  try {
    await run()
  } catch (error) {
    log(`${name} failed: ${(error as Error).stack ?? String(error)}`)
    report.errors.push({ section: name, error: (error as Error).message })
  }
}

// Cheapest first, so a broken environment shows early; memory (the longest) last.
await section('bytes', async () => { report.bytes = await measureBytes() })
await section('fanout', async () => { report.fanout = await measureFanout(args.quick ? 50 : 300, log) })
await section('push', async () => { report.push = await measurePush(args.quick ? QUICK_PUSH : FULL_PUSH, log) })
await section('throughput', async () => {
  const settings = { ...(args.quick ? QUICK_THROUGHPUT : FULL_THROUGHPUT), ...(args.encrypted ? { encrypted: true } : {}) }
  const results = []
  // Encrypted bodies are a lowband message kind: compare with a plaintext run of lowband.
  // The reference brokers are also measured at lowband's half rate, the tail goal's comparison.
  let lowbandHalf: number | undefined
  for (const kind of args.encrypted ? ['lowband' as const] : kinds) {
    const result = await measureThroughput(kind, settings, log, undefined, undefined, kind === 'lowband' ? undefined : lowbandHalf)
    if (kind === 'lowband' && result.maxSustained > 0) lowbandHalf = result.atHalf.offeredRate
    results.push(result)
    if (kind === 'lowband' && args.store !== undefined) results.push(await measureThroughput(kind, settings, log, args.store))
    if (kind === 'lowband' && args.cluster) {
      results.push(await measureThroughput(kind, settings, log, 'postgres', { nodes: 1, placement: 'same-node' }))
      results.push(await measureThroughput(kind, settings, log, 'postgres', { nodes: 2, placement: 'cross-node' }))
    }
  }
  const crossNode = args.cluster ? await measureCrossNode(settings, log) : undefined
  report.throughput = { pairs: PAIRS, clients: PAIRS * 2, generatorProcesses: 2, p99LimitMs: P99_LIMIT_MS, settings, results, ...(crossNode === undefined ? {} : { crossNode }) }
})
await section('profile', async () => {
  // Busy but sustainable: 70 % of the maximum measured in this run, or a fixed rate without one.
  const max = report.throughput?.results.find((r) => r.kind === 'lowband')?.maxSustained
  report.profile = await profileLowband(max === undefined || max === 0 ? 1500 : Math.round(max * 0.7), args.quick ? 3000 : 10_000, log, args.profileOut)
})
await section('soak', async () => {
  // Half the maximum measured in this run (where latency is still flat), or a fixed rate without one.
  const max = report.throughput?.results.find((r) => r.kind === 'lowband')?.maxSustained
  const rate = max === undefined || max === 0 ? 2500 : Math.round(max / 2)
  report.soak = await measureSoak(rate, args.quick ? 3 : 12, args.quick ? 3000 : 10_000, log)
})
await section('abuse', async () => { report.abuse = await measureAbuse(args.quick ? QUICK_ABUSE : FULL_ABUSE, log) })
// Idle connections cost the stored baselines what they cost plain Aedes: they are not measured again.
await section('memory', async () => {
  if (args.nodes !== undefined) {
    report.memory = await measureClusterMemory(args.nodes, args.connections ?? CLUSTER_CONNECTIONS, log)
    return
  }
  report.memory = await measureMemory(kinds.filter((k) => !isStoredBaseline(k)), args.connections !== undefined ? [args.connections] : args.quick ? QUICK_LEVELS : FULL_LEVELS, log)
})

report.durationSeconds = Math.round((performance.now() - started) / 1000)
const full: BenchReport = { ...report, goals: checkGoals(report) }
process.stdout.write(args.json ? `${JSON.stringify(full)}\n` : `${renderReport(full)}\n`)
if (args.save !== undefined) {
  const sections = args.only.length === SECTIONS.length ? 'all' : args.only.join('+')
  const file = join(args.save, `${full.machine.date.slice(0, 10)}-${full.machine.commit}-${sections}${args.quick ? '-quick' : ''}.json`)
  await mkdir(args.save, { recursive: true })
  await writeFile(file, `${JSON.stringify(full)}\n`)
  log(`saved ${file} (render it with: npm run -s bench -- --render ${file})`)
}
process.exitCode = full.errors.length > 0 ? 1 : 0
