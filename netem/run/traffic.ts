import { setTimeout as sleep } from 'node:timers/promises'
import type { Link, LinkCounters } from '../link.js'
import type { Traffic } from './types.js'

const POLL_MS = 100
/** A link that never goes quiet (keepalives, a stuck retransmission) still ends the wait. */
const SETTLE_MAX_MS = 20_000

export function toTraffic(c: LinkCounters): Traffic {
  return { upBytes: c.up.bytes, downBytes: c.down.bytes, upPackets: c.up.packets, downPackets: c.down.packets }
}

/**
 * How long the link must carry nothing before a measurement window may close.
 * The last packets of a message form a chain (PUBACK up, receipt down, its
 * PUBACK up, TCP acks), each crossing within a one-way delay of the one that
 * caused it; a round trip plus room for a delayed ack covers any gap.
 */
export function quietMsFor(link: Link): number {
  return Math.max(600, link.profile.down.delayMs + link.profile.up.delayMs + 300)
}

/** Counters once no packet, delivered or dropped, has crossed in either direction for `quietMs`. */
export async function settledTraffic(link: Link, quietMs: number): Promise<Traffic> {
  const activity = (c: LinkCounters): number => c.up.packets + c.up.dropped + c.down.packets + c.down.dropped
  let counters = await link.counters()
  let lastChange = Date.now()
  const until = lastChange + SETTLE_MAX_MS
  while (Date.now() - lastChange < quietMs && Date.now() < until) {
    await sleep(POLL_MS)
    const next = await link.counters()
    if (activity(next) !== activity(counters)) lastChange = Date.now()
    counters = next
  }
  return toTraffic(counters)
}
