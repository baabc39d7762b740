import type { Histogram } from 'hdr-histogram-js'
import { DEFAULT_MAX_PENDING } from '../broker/connection-gate.js'
import { defaultMaxConnections } from '../broker/open-files.js'
import { sendTopic, userSubtree } from '../protocol/topics.js'
import { ATTACKER_USERS, type Attack, type AttackStats, type PrepareMessage, type Verified } from './abuse-attacker.js'
import { startBroker } from './brokers.js'
import { chatPayload, deliveredNumber } from './chat-traffic.js'
import { connectAll } from './connect-all.js'
import { ask } from './ipc.js'
import { latencyHistogram, summarize, type LatencySummary } from './latency.js'
import { fdHardLimit, rssBytes, sleep, withChildren } from './proc.js'
import { RawClient } from './raw-client.js'
import { mintTokens } from './tokens.js'
import { startWorker, stopWorker } from './workers.js'

export interface AbuseSettings {
  /** alice → bob pairs whose latency is measured, each sending `ratePerPair` messages a second. */
  pairs: number
  ratePerPair: number
  /** Length of the quiet phase and of each attack, ms. */
  phaseMs: number
  /** The connection cap the broker runs with (the flood fills it). */
  maxConnections: number
}

export const QUICK_ABUSE: AbuseSettings = { pairs: 10, ratePerPair: 20, phaseMs: 5000, maxConnections: 2000 }
/** At the cap the broker derives from this machine's open-files limit, as a user runs it. */
export const FULL_ABUSE: AbuseSettings = { pairs: 20, ratePerPair: 20, phaseMs: 20_000, maxConnections: defaultMaxConnections(fdHardLimit()) }

/** The limits a user gets by default; the bench's other sections raise them, this one must not. */
const DEFAULT_LIMITS = { rateLimit: 50, rateBurst: 200, rateBytes: 64 * 1024, maxPendingPerIp: 128, maxPending: DEFAULT_MAX_PENDING }

export interface AbusePhase {
  name: 'quiet' | Attack
  /** alice → bob, from PUBLISH to delivery, for messages sent during the phase (`latency.count` of them delivered). */
  latency: LatencySummary
  /** alice → bob messages sent during the phase. */
  sent: number
  /** p99 over the quiet phase's p99. */
  p99Ratio?: number
  /** The broker's largest RSS during the phase and its settling, MiB, and how far that is above its RSS when the phase began. */
  peakRssMiB: number
  rssGrowthMiB: number
  /** What the attacker did (see bench/abuse-attacker.ts). */
  attack?: Record<string, number>
}

export interface AbuseReport {
  settings: AbuseSettings
  limits: typeof DEFAULT_LIMITS
  phases: AbusePhase[]
  /** alice → bob messages acknowledged (PUBACK) and never delivered, and the slow reader's acknowledged messages missing from its replay. */
  lost: { pairs: number, slowReader: number }
  acknowledged: number
  /**
   * The broker's RSS at the end of the quiet phase and its peak under any attack, MiB. What the
   * attacks leave behind adds up across phases (the store keeps what the slow reader was sent),
   * so each attack's own growth is in its phase.
   */
  rss: { quietMiB: number, peakMiB: number }
}

const ATTACKS: readonly Attack[] = ['slow-reader', 'payloads', 'flood']

/** One phase as it runs: its window of send times, its latencies, the broker's RSS when it began, what the attacker did. */
interface Run { name: AbusePhase['name'], from: number, to: number, histogram: Histogram, startRss: number, stats?: Record<string, number> }
/** After an attack stops, before the next phase: the broker settles, late deliveries land. */
const SETTLE_MS = 3000

/**
 * Other users' latency under attack, in one run against one broker: alice → bob pairs send
 * steadily through a quiet phase and then through each attack in turn (bench/abuse-attacker.ts,
 * another process), and each phase's p99 is set against the quiet one's. Messages are counted by
 * their send time, so one sent during an attack counts for it even if it lands after. Every
 * acknowledged message must arrive (the pairs' at bob, the slow reader's in its replay).
 */
export async function measureAbuse (settings: AbuseSettings, log: (line: string) => void): Promise<AbuseReport> {
  const broker = await startBroker('lowband', {
    lowbandOptions: ['--rate-limit', String(DEFAULT_LIMITS.rateLimit), '--rate-burst', String(DEFAULT_LIMITS.rateBurst), '--rate-bytes', String(DEFAULT_LIMITS.rateBytes),
      '--max-pending-per-ip', String(DEFAULT_LIMITS.maxPendingPerIp), '--max-pending', String(DEFAULT_LIMITS.maxPending), '--max-connections', String(settings.maxConnections)]
  })
  const users = Array.from({ length: settings.pairs }, (_, i) => [`alice${i}`, `bob${i}`] as const)
  const tokens = await mintTokens([...users.flat(), ...ATTACKER_USERS])
  const attacker = startWorker('abuse-attacker')
  const runs: Run[] = []
  const sentAt = new Map<number, number>()
  const acknowledged = new Set<number>()
  const received = new Set<number>()
  /** The broker's processes together: lowband and its accept process, which holds the flood's sockets. */
  const brokerPids = withChildren(broker.pid)
  const brokerRss = (): number => brokerPids.reduce((sum, pid) => { try { return sum + rssBytes(pid) } catch { return sum } }, 0)
  let peakRss = 0
  const rssTimer = setInterval(() => { peakRss = Math.max(peakRss, brokerRss()) }, 200)
  try {
    const device = async (user: string): Promise<RawClient> => {
      const client = await RawClient.connect({ port: broker.port, clientId: `${user}/phone`, username: user, password: tokens.get(user)!, clean: false, keepalive: 600 })
      await client.subscribe(userSubtree(user), 1)
      return client
    }
    const bobs = await connectAll(users, 10, ([, bob]) => device(bob))
    bobs.forEach((client, i) => {
      client.onMessage = (topic, payload) => {
        const n = deliveredNumber('lowband', topic, payload, users[i]![1])
        const sent = n === undefined ? undefined : sentAt.get(n)
        if (n === undefined || sent === undefined || received.has(n)) return
        received.add(n)
        const run = runs.find((r) => sent >= r.from && sent < r.to)
        run?.histogram.recordValue(Math.max(1, Math.round((performance.now() - sent) * 1000)))
      }
    })
    const alices = await connectAll(users, 10, ([alice]) => device(alice))
    await ask(attacker.child, {
      type: 'prepare', port: broker.port, httpPort: broker.httpPort!, tokens: Object.fromEntries(tokens), rateLimit: DEFAULT_LIMITS.rateLimit, rateBytes: DEFAULT_LIMITS.rateBytes,
      floodSockets: settings.maxConnections - 2 * settings.pairs - ATTACKER_USERS.length, maxPendingPerIp: DEFAULT_LIMITS.maxPendingPerIp
    } satisfies PrepareMessage, 'prepared')

    // Steady traffic for the whole run: every pair sends ratePerPair a second.
    let next = 1
    const traffic = setInterval(() => {
      for (const [i, alice] of alices.entries()) {
        const n = next++
        sentAt.set(n, performance.now())
        alice.publish(sendTopic(users[i]![1]), chatPayload(n, users[i]![1]), 1, () => { acknowledged.add(n) })
      }
    }, 1000 / settings.ratePerPair)

    const phase = async (name: AbusePhase['name'], during: () => Promise<Record<string, number> | undefined>): Promise<Run> => {
      const run: Run = { name, from: performance.now(), to: Number.POSITIVE_INFINITY, histogram: latencyHistogram(), startRss: brokerRss() }
      runs.push(run)
      peakRss = run.startRss
      const stats = await during()
      run.to = performance.now()
      if (stats !== undefined) run.stats = stats
      await sleep(SETTLE_MS)
      peaks.set(run, peakRss)
      log(`abuse: ${name} done, rss ${mib(run.startRss)} → peak ${mib(peakRss)} MiB${stats === undefined ? '' : `, ${JSON.stringify(stats)}`}`)
      return run
    }
    const peaks = new Map<Run, number>()
    await sleep(2000) // warm-up, not measured
    const quiet = await phase('quiet', async () => { await sleep(settings.phaseMs); return undefined })
    const quietRss = brokerRss()
    for (const attack of ATTACKS) {
      await phase(attack, async () => {
        await ask(attacker.child, { type: 'start', attack }, 'started')
        await sleep(settings.phaseMs)
        return (await ask<AttackStats>(attacker.child, { type: 'stop' }, 'stopped')).counts
      })
    }
    clearInterval(traffic)
    // The last deliveries land in their phases' histograms (on a loaded machine, long after).
    const deadline = performance.now() + 60_000
    while (received.size < sentAt.size && performance.now() < deadline) await sleep(200)
    for (const client of [...alices, ...bobs]) client.destroy()
    const slow = await ask<Verified>(attacker.child, { type: 'verify' }, 'verified')
    log(`abuse: the slow reader's inbox holds ${slow.replayed} of the ${slow.acknowledged} messages acknowledged to its senders`)

    const quietP99 = summarize(quiet.histogram).p99Ms
    const phases = runs.map((run): AbusePhase => {
      const latency = summarize(run.histogram)
      const peak = peaks.get(run)!
      return {
        name: run.name,
        latency,
        sent: [...sentAt.values()].filter((at) => at >= run.from && at < run.to).length,
        ...(run === quiet ? {} : { p99Ratio: ratio(latency.p99Ms, quietP99) }),
        peakRssMiB: mib(peak),
        rssGrowthMiB: mib(peak - run.startRss),
        ...(run.stats === undefined ? {} : { attack: run.stats })
      }
    })
    for (const p of phases) log(`abuse: ${p.name} p99 ${p.latency.p99Ms} ms${p.p99Ratio === undefined ? '' : ` (${p.p99Ratio}× quiet)`}`)
    return {
      settings,
      limits: DEFAULT_LIMITS,
      phases,
      lost: { pairs: [...acknowledged].filter((n) => !received.has(n)).length, slowReader: Math.max(0, slow.acknowledged - slow.replayed) },
      acknowledged: acknowledged.size,
      rss: { quietMiB: mib(quietRss), peakMiB: mib(Math.max(quietRss, ...runs.filter((r) => r !== quiet).map((r) => peaks.get(r)!))) }
    }
  } finally {
    clearInterval(rssTimer)
    for (const run of runs) run.histogram.destroy()
    await stopWorker(attacker)
    await broker.stop()
  }
}

const mib = (bytes: number): number => Math.round(bytes / 2 ** 20 * 10) / 10
const ratio = (value: number, of: number): number => of === 0 ? 0 : Math.round(value / of * 100) / 100
