import { readFileSync } from 'node:fs'
import { loadavg } from 'node:os'
import { startBroker, type BrokerKind } from './brokers.js'
import { withWarmLoad } from './chat-load.js'
import { PAIRS } from './throughput.js'

/**
 * One broker under the throughput section's 1:1 load at one offered rate, for an A/B of the tail:
 * `node dist/bench/at-rate.js [--broker lowband|aedes|aedes-protocol|…] [--rate 1700] [--ms 10000]
 * [--repeat 1] [--node-flag F]… [--option O]… [--probe FILE [--allocations]] [--per-second]` prints one line per
 * run with p50/p99/p99.9/max, CPU per message and the load average at its start (tail-probe.ts: what --probe adds);
 * `--per-second` adds a line per second of the measured step (the messages sent in that second), to line stalls up with the probe's timeline. Node flags go to the broker's process (e.g. --max-semi-space-size=16),
 * options to `lowband start`.
 */
const argv = process.argv.slice(2)
const flag = (name: string): string[] => argv.flatMap((arg, i) => arg === name && argv[i + 1] !== undefined ? [argv[i + 1]!] : [])
const one = (name: string, fallback: string): string => flag(name).at(-1) ?? fallback

const kind = one('--broker', 'lowband') as BrokerKind
const rate = Number(one('--rate', '1700'))
const durationMs = Number(one('--ms', '10000'))
const repeat = Number(one('--repeat', '1'))
const nodeFlags = flag('--node-flag')
const lowbandOptions = flag('--option')
// --probe FILE: bench/tail-probe.ts in the broker, its summary written to FILE-<run>.json at exit.
const probe = flag('--probe').at(-1)
if (probe !== undefined) nodeFlags.push(`--import=${new URL('./tail-probe.js', import.meta.url).href}`)

for (let run = 1; run <= repeat; run++) {
  const load = loadavg()[0]!.toFixed(2)
  if (probe !== undefined) process.env.LOWBAND_TAIL_PROBE = `${probe}-${run}.json`
  if (probe !== undefined && argv.includes('--allocations')) process.env.LOWBAND_TAIL_ALLOCATIONS = `${probe}-${run}.heapprofile`
  const broker = await startBroker(kind, { nodeFlags, lowbandOptions })
  try {
    // The throughput section's latency measure: a warm-up at the same rate, then the measured step.
    let measuredFrom = new Date()
    const m = await withWarmLoad(broker, PAIRS, rate * 2, async (chat) => {
      await chat.step(rate, 3000, 3000)
      measuredFrom = new Date()
      return await chat.step(rate, durationMs, 3000)
    })
    process.stdout.write(`${kind} ${nodeFlags.join(' ')} ${lowbandOptions.join(' ')} @${rate}/s: p50 ${m.latency.p50Ms} p99 ${m.latency.p99Ms} p99.9 ${m.latency.p999Ms} max ${m.latency.maxMs} ms, delivered ${(m.deliveredShare * 100).toFixed(1)} %, cpu broker ${m.brokerCpuPct} % (${m.cpuUsPerMessage?.nodes ?? '?'} µs/msg) machine ${m.machineCpuPct} %, load ${load}\n`)
    if (argv.includes('--per-second')) {
      process.stdout.write(`  measured from ${measuredFrom.toISOString()}\n`)
      m.perSecond?.forEach((s, i) => { process.stdout.write(`  s${i}: n ${s.count} p50 ${s.p50Ms} p99 ${s.p99Ms} max ${s.maxMs} ms\n`) })
    }
  } finally {
    await broker.stop()
  }
  if (probe !== undefined) process.stdout.write(readFileSync(`${probe}-${run}.json`, 'utf8'))
}
