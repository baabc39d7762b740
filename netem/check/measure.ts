import { setTimeout as sleep } from 'node:timers/promises'
import type { Link } from '../link.js'
import { type Direction, type RttPlan, type StreamPlan } from './plan.js'
import { PROBE_PORTS, startProbe, type BlastResult, type PingResult, type SinkResult } from './probes.js'

/** Slack on top of a probe's expected run time before it counts as hung. */
const PROBE_GRACE_MS = 15_000

export interface RttMeasurement {
  sent: number
  received: number
  medianMs: number
  minMs: number
  maxMs: number
}

export interface StreamMeasurement {
  sent: number
  /** Distinct sequence numbers received. */
  received: number
  duplicates: number
  reordered: number
  /** Arrival rate while the stream lasted, kbit/s of IP bytes; null with fewer than two packets. */
  rateKbit: number | null
  /** Silences longer than the sink's gap threshold: [last packet before, first packet after], CLOCK_MONOTONIC ns. */
  gapsNs: Array<[bigint, bigint]>
}

function median(sorted: readonly number[]): number {
  const mid = Math.floor(sorted.length / 2)
  if (sorted.length === 0) return Number.NaN
  return sorted.length % 2 === 1 ? (sorted[mid] ?? Number.NaN) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2
}

export async function measureRtt(link: Link, plan: RttPlan): Promise<RttMeasurement> {
  const runMs = (plan.count * plan.intervalUs) / 1000 + plan.waitMs
  const echo = await startProbe<unknown>(link, 'server', ['echo', PROBE_PORTS.echo], runMs + PROBE_GRACE_MS)
  try {
    await echo.ready
    const ping = await startProbe<PingResult>(
      link,
      'client',
      ['ping', link.serverAddr, PROBE_PORTS.echo, plan.count, plan.intervalUs, plan.payload, plan.waitMs],
      runMs + PROBE_GRACE_MS
    )
    const result = await ping.result
    const rtts = result.rtt_us.map((us) => us / 1000).sort((a, b) => a - b)
    return {
      sent: result.sent,
      received: result.received,
      medianMs: median(rtts),
      minMs: rtts[0] ?? Number.NaN,
      maxMs: rtts[rtts.length - 1] ?? Number.NaN
    }
  } finally {
    echo.stop()
    await echo.result.catch(() => undefined)
  }
}

function toMeasurement(blast: BlastResult, sink: SinkResult): StreamMeasurement {
  const spanNs = Number(BigInt(sink.last_ns) - BigInt(sink.first_ns))
  // The first packet's arrival starts the clock, so its bytes are not part of the span.
  const rateKbit = sink.packets >= 2 && spanNs > 0 ? ((sink.ip_bytes - sink.first_ip_bytes) * 8 * 1e6) / spanNs : null
  return {
    sent: blast.sent,
    received: sink.distinct,
    duplicates: sink.duplicates,
    reordered: sink.reordered,
    rateKbit,
    gapsNs: sink.gaps_ns.map(([a, b]) => [BigInt(a), BigInt(b)])
  }
}

export interface StreamOptions {
  /** Record silences longer than this (0: none). */
  gapMs?: number
  /**
   * Keep the sinks open until this long after the senders finish, instead of
   * stopping at the first long silence (used when outages cause silences).
   */
  holdMs?: number
}

/** Runs one stream each way at the same time and reports both. */
export async function measureStreams(
  link: Link,
  plans: Record<Direction, StreamPlan>,
  options: StreamOptions = {}
): Promise<Record<Direction, StreamMeasurement>> {
  const ends = {
    down: { sinkSide: 'client', sendSide: 'server', to: link.clientAddr, port: PROBE_PORTS.sinkDown },
    up: { sinkSide: 'server', sendSide: 'client', to: link.serverAddr, port: PROBE_PORTS.sinkUp }
  } as const
  const run = async (direction: Direction): Promise<StreamMeasurement> => {
    const plan = plans[direction]
    const end = ends[direction]
    const sendMs = (plan.count * plan.ipSize * 8 * 1000) / plan.sendBps
    const idleMs = options.holdMs === undefined ? plan.idleMs : 0
    const sink = await startProbe<SinkResult>(
      link,
      end.sinkSide,
      ['sink', end.port, plan.firstMs, idleMs, options.gapMs ?? 0],
      plan.firstMs + sendMs + (options.holdMs ?? 0) + PROBE_GRACE_MS
    )
    await sink.ready
    const blast = await startProbe<BlastResult>(
      link,
      end.sendSide,
      ['blast', end.to, end.port, plan.sendBps, plan.ipSize, plan.count],
      sendMs + PROBE_GRACE_MS
    )
    const sent = await blast.result
    if (options.holdMs !== undefined) {
      await sleep(options.holdMs)
      sink.stop()
    }
    return toMeasurement(sent, await sink.result)
  }
  const [down, up] = await Promise.all([run('down'), run('up')])
  return { down, up }
}
