import { CLIENT_ADDR, SERVER_ADDR } from '../addresses.js'
import type { NamespacePair } from '../namespaces.js'
import type { DirectionSpec, Profile } from '../profiles/index.js'
import { run, succeeds } from '../system.js'
import type { DirectionCounters, LinkBackend, LinkCounters } from './types.js'

/*
 * Real `tc qdisc … netem` on a veth pair between the two namespaces. Each end
 * shapes what it sends: the server end carries "down", the phone end "up".
 */

/** Fixed MACs so each end can hold a permanent neighbour entry for the other. */
const SERVER_MAC = '02:00:0a:c9:00:01'
const CLIENT_MAC = '02:00:0a:c9:00:02'
const ETHERNET_HEADER = 14
/** Smallest packet we expect in bulk (a bare TCP ACK), to bound netem's delay line. */
const MIN_PACKET = 40
const FULL_PACKET = 1500

/**
 * netem arguments for one direction. `rate … -14` makes netem count IP bytes
 * like linkemu does. netem's `limit` counts every packet it holds, including
 * those in the delay line, so it is the bottleneck buffer in full-size packets
 * plus the most packets the delay line can hold at line rate.
 */
export function netemQdiscArgs(spec: DirectionSpec, linkDown = false): string[] {
  const bufferPackets = Math.ceil(spec.queueBytes / FULL_PACKET)
  const inFlight = Math.ceil((((spec.delayMs + spec.jitterMs) / 1000) * spec.rateKbit * 1000) / 8 / MIN_PACKET)
  const args = ['netem', 'delay', `${spec.delayMs}ms`]
  if (spec.jitterMs > 0) args.push(`${spec.jitterMs}ms`)
  args.push('loss', linkDown ? '100%' : `${spec.lossPct}%`)
  if (spec.reorderPct > 0) args.push('reorder', `${spec.reorderPct}%`)
  // With a rate set netem schedules each packet after the previous one, so jitter keeps packets in order.
  args.push('rate', `${Math.round(spec.rateKbit * 1000)}bit`, String(-ETHERNET_HEADER))
  args.push('limit', String(bufferPackets + inFlight))
  return args
}

/** A veth pair named `device` on both sides, one end in each namespace. */
export async function createVethPair(ns: NamespacePair, device: string): Promise<void> {
  await run('ip', [
    'link', 'add', 'name', device, 'address', SERVER_MAC, 'netns', ns.server,
    'type', 'veth', 'peer', 'name', device, 'address', CLIENT_MAC, 'netns', ns.client
  ])
  // No TSO/GSO super-packets: netem must rate-limit and drop real MTU-sized packets, as a radio link does.
  await Promise.all(
    [ns.server, ns.client].map((namespace) =>
      run('ip', ['-n', namespace, 'link', 'set', 'dev', device, 'gso_max_size', '1500', 'gso_max_segs', '1'])
    )
  )
}

export async function deleteVethPair(ns: NamespacePair, device: string): Promise<void> {
  await run('ip', ['-n', ns.server, 'link', 'del', device]).catch(() => undefined)
}

/** Whether the kernel can attach a netem qdisc (sch_netem built in or loadable). */
export async function kernelHasNetem(ns: NamespacePair, device: string): Promise<boolean> {
  const ok = await succeeds('tc', ['-n', ns.server, 'qdisc', 'add', 'dev', device, 'root', 'netem', 'delay', '0ms'])
  if (ok) await run('tc', ['-n', ns.server, 'qdisc', 'del', 'dev', device, 'root'])
  return ok
}

interface TcQdiscStats {
  kind: string
  root?: boolean
  bytes: number
  packets: number
  drops: number
}

async function directionCounters(namespace: string, device: string): Promise<DirectionCounters> {
  const { stdout } = await run('tc', ['-n', namespace, '-s', '-j', 'qdisc', 'show', 'dev', device])
  const root = (JSON.parse(stdout) as TcQdiscStats[]).find((q) => q.kind === 'netem')
  if (!root) return { packets: 0, bytes: 0, dropped: 0, offeredPackets: null, offeredBytes: null, lost: null, queueDropped: null, outageDropped: null }
  return {
    packets: root.packets,
    bytes: root.bytes - ETHERNET_HEADER * root.packets,
    // netem counts its own losses and its child's drops together.
    dropped: root.drops,
    offeredPackets: null,
    offeredBytes: null,
    lost: null,
    queueDropped: null,
    outageDropped: null
  }
}

class TcNetemBackend implements LinkBackend {
  readonly mode = 'netem' as const
  readonly #ns: NamespacePair
  readonly #device: string
  readonly #profile: Profile
  #final: LinkCounters | null = null

  constructor(ns: NamespacePair, device: string, profile: Profile) {
    this.#ns = ns
    this.#device = device
    this.#profile = profile
  }

  async apply(action: 'add' | 'change', linkDown: boolean): Promise<void> {
    const d = this.#device
    await Promise.all([
      run('tc', ['-n', this.#ns.server, 'qdisc', action, 'dev', d, 'root', ...netemQdiscArgs(this.#profile.down, linkDown)]),
      run('tc', ['-n', this.#ns.client, 'qdisc', action, 'dev', d, 'root', ...netemQdiscArgs(this.#profile.up, linkDown)])
    ])
  }

  async counters(): Promise<LinkCounters> {
    if (this.#final) return this.#final
    const [down, up] = await Promise.all([
      directionCounters(this.#ns.server, this.#device),
      directionCounters(this.#ns.client, this.#device)
    ])
    return { down, up }
  }

  async setLinkUp(up: boolean): Promise<void> {
    await this.apply('change', !up)
  }

  async close(): Promise<LinkCounters> {
    this.#final ??= await this.counters()
    return this.#final
  }

  closeSync(): void {
    // Nothing runs outside the namespaces; deleting them removes the veth and its qdiscs.
  }
}

/** Configures netem on a veth pair made by createVethPair, once its addresses are up. */
export async function startTcNetem(ns: NamespacePair, device: string, profile: Profile): Promise<LinkBackend> {
  // Static neighbours: ARP would otherwise cross the emulated link (and its loss) before any traffic.
  await Promise.all([
    run('ip', ['-n', ns.server, 'neigh', 'replace', CLIENT_ADDR, 'lladdr', CLIENT_MAC, 'dev', device, 'nud', 'permanent']),
    run('ip', ['-n', ns.client, 'neigh', 'replace', SERVER_ADDR, 'lladdr', SERVER_MAC, 'dev', device, 'nud', 'permanent'])
  ])
  const backend = new TcNetemBackend(ns, device, profile)
  await backend.apply('add', false)
  return backend
}
