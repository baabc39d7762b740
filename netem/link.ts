import { randomInt } from 'node:crypto'
import { CLIENT_ADDR, LINK_DEVICE, LINK_PREFIX, SERVER_ADDR } from './addresses.js'
import { startLinkemu } from './backends/linkemu.js'
import { createVethPair, deleteVethPair, kernelHasNetem, startTcNetem } from './backends/tc-netem.js'
import type { LinkBackend, LinkCounters, LinkMode } from './backends/types.js'
import { NetemError } from './errors.js'
import {
  allocateNamespacePair,
  createNamespace,
  deleteNamespace,
  deleteNamespaceSync,
  sweepStaleNamespaces,
  type NamespacePair
} from './namespaces.js'
import { applyServerTcpSettings } from './server-tcp.js'
import { OutageScheduler, type OutageEvent } from './outages.js'
import { assertCanEmulate } from './preflight.js'
import { getProfile, type OutageSchedule, type Profile } from './profiles/index.js'
import { run } from './system.js'
import { registerCleanup } from './teardown.js'

export type { DirectionCounters, LinkCounters, LinkMode } from './backends/types.js'
export type { OutageEvent } from './outages.js'

/** "server" is the broker's end of the link, "client" the phone's. */
export type LinkSide = 'server' | 'client'

export interface CreateLinkOptions {
  /** Label used in log lines. Default: the profile id. */
  name?: string
  /**
   * 'auto' (default) uses the kernel's netem when it has one and linkemu
   * otherwise; the environment variable LOWBAND_NETEM_MODE sets the default.
   */
  mode?: 'auto' | LinkMode
  /** 'profile' (default) follows the profile's schedule, 'none' never drops the link, or a schedule of your own. */
  outages?: 'profile' | 'none' | OutageSchedule
  /** Seeds loss, jitter and the outage schedule, so a run can be replayed. Default: random. */
  seed?: number
  /** Receives one-line progress messages (mode chosen, teardown). Default: silent. */
  log?: (line: string) => void
}

export interface Link {
  readonly name: string
  readonly profile: Profile
  readonly mode: LinkMode
  /** Why this mode was used, e.g. "kernel has no sch_netem". */
  readonly modeReason: string
  readonly seed: number
  readonly serverNs: string
  readonly clientNs: string
  readonly serverAddr: string
  readonly clientAddr: string
  /** The link's interface name, the same in both namespaces. */
  readonly device: string
  /** The argv that runs `argv` inside one end of the link. */
  command(side: LinkSide, argv: readonly string[]): string[]
  /** Traffic counted at the emulated link since it was created. */
  counters(): Promise<LinkCounters>
  isUp(): boolean
  /** Takes the link down (every packet dropped, both ways) or brings it back, outside any schedule. */
  setLinkUp(up: boolean): Promise<void>
  /** Every change of link state so far, oldest first. */
  outageLog(): readonly OutageEvent[]
  /** Stops everything, removes both namespaces, and resolves with the final counters. Safe to call twice. */
  close(): Promise<LinkCounters>
}

/** Remembered per process: the kernel does not grow sch_netem while we run. */
let kernelNetem: boolean | undefined

interface ModeChoice {
  mode: LinkMode
  reason: string
}

function requestedMode(options: CreateLinkOptions): 'auto' | LinkMode {
  const requested = options.mode ?? process.env.LOWBAND_NETEM_MODE ?? 'auto'
  if (requested !== 'auto' && requested !== 'netem' && requested !== 'linkemu') {
    throw new NetemError(`unknown netem mode '${requested}' (use auto, netem or linkemu)`)
  }
  return requested
}

/** Decides the mode; for netem it leaves the veth pair created. */
async function chooseMode(requested: 'auto' | LinkMode, ns: NamespacePair): Promise<ModeChoice> {
  if (requested === 'linkemu') return { mode: 'linkemu', reason: 'linkemu requested' }
  const missing = 'kernel has no sch_netem (tc: "qdisc kind is unknown")'
  if (requested === 'auto' && kernelNetem === false) return { mode: 'linkemu', reason: missing }
  await createVethPair(ns, LINK_DEVICE)
  kernelNetem = await kernelHasNetem(ns, LINK_DEVICE)
  if (kernelNetem) return { mode: 'netem', reason: requested === 'netem' ? 'netem requested' : 'kernel has sch_netem' }
  await deleteVethPair(ns, LINK_DEVICE)
  if (requested === 'netem') throw new NetemError(`netem mode requested but this ${missing}; use --mode auto or linkemu`)
  return { mode: 'linkemu', reason: missing }
}

async function configureAddresses(ns: NamespacePair): Promise<void> {
  const ends: Array<[string, string]> = [
    [ns.server, SERVER_ADDR],
    [ns.client, CLIENT_ADDR]
  ]
  await Promise.all(
    ends.map(async ([namespace, addr]) => {
      await run('ip', ['-n', namespace, 'addr', 'add', `${addr}/${LINK_PREFIX}`, 'dev', LINK_DEVICE])
      await run('ip', ['-n', namespace, 'link', 'set', LINK_DEVICE, 'up'])
    })
  )
}

function scheduleFor(profile: Profile, option: CreateLinkOptions['outages']): OutageSchedule | null {
  if (option === 'none') return null
  if (option === undefined || option === 'profile') return profile.outages
  return option
}

class EmulatedLink implements Link {
  readonly serverAddr = SERVER_ADDR
  readonly clientAddr = CLIENT_ADDR
  readonly device = LINK_DEVICE
  readonly serverNs: string
  readonly clientNs: string
  readonly #backend: LinkBackend
  readonly #unregister: () => void
  readonly #log: (line: string) => void
  readonly #events: OutageEvent[] = []
  readonly #createdAt = process.hrtime.bigint()
  #scheduler: OutageScheduler | null = null
  #up = true
  #closing: Promise<LinkCounters> | null = null

  constructor(
    readonly name: string,
    readonly profile: Profile,
    readonly seed: number,
    readonly modeReason: string,
    ns: NamespacePair,
    backend: LinkBackend,
    unregister: () => void,
    log: (line: string) => void
  ) {
    this.serverNs = ns.server
    this.clientNs = ns.client
    this.#backend = backend
    this.#unregister = unregister
    this.#log = log
  }

  get mode(): LinkMode {
    return this.#backend.mode
  }

  startSchedule(schedule: OutageSchedule): void {
    // A seed of its own, derived from the link's: traffic never shifts the outage times.
    this.#scheduler = new OutageScheduler(schedule, this.seed ^ 0x5eed, (up) => this.#switch(up, 'schedule'))
    this.#scheduler.start()
  }

  command(side: LinkSide, argv: readonly string[]): string[] {
    return ['ip', 'netns', 'exec', side === 'server' ? this.serverNs : this.clientNs, ...argv]
  }

  counters(): Promise<LinkCounters> {
    return this.#backend.counters()
  }

  isUp(): boolean {
    return this.#up
  }

  setLinkUp(up: boolean): Promise<void> {
    return this.#switch(up, 'manual')
  }

  outageLog(): readonly OutageEvent[] {
    return [...this.#events]
  }

  async #switch(up: boolean, cause: OutageEvent['cause']): Promise<void> {
    if (this.#closing) throw new NetemError(`link ${this.name} is closed`)
    await this.#backend.setLinkUp(up)
    this.#up = up
    const atNs = process.hrtime.bigint()
    this.#events.push({ state: up ? 'up' : 'down', atMs: Number(atNs - this.#createdAt) / 1e6, atNs, cause })
    this.#log(`lowband netem: link ${this.name} ${up ? 'up' : 'down'} (${cause})`)
  }

  close(): Promise<LinkCounters> {
    this.#closing ??= this.#teardown()
    return this.#closing
  }

  async #teardown(): Promise<LinkCounters> {
    this.#scheduler?.stop()
    try {
      return await this.#backend.close()
    } finally {
      await Promise.all([deleteNamespace(this.serverNs), deleteNamespace(this.clientNs)])
      this.#unregister()
      this.#log(`lowband netem: link ${this.name} closed; removed ${this.serverNs} and ${this.clientNs}`)
    }
  }
}

/**
 * Creates two network namespaces joined by a link that behaves like `profile`
 * ("down" = server -> phone, "up" = phone -> server), with real tc netem when
 * the kernel has it and the linkemu userspace emulator otherwise. Needs root.
 * Everything is removed by close(), and also on process exit, Ctrl-C, SIGTERM
 * or when creation fails half-way.
 */
export async function createLink(profileOrId: Profile | string, options: CreateLinkOptions = {}): Promise<Link> {
  const profile = typeof profileOrId === 'string' ? getProfile(profileOrId) : profileOrId
  const name = options.name ?? profile.id
  const log = options.log ?? (() => undefined)
  const seed = options.seed ?? randomInt(1, 2 ** 31)
  const requested = requestedMode(options)
  await assertCanEmulate()
  const swept = await sweepStaleNamespaces()
  if (swept.length > 0) log(`lowband netem: removed stale namespaces ${swept.join(', ')}`)

  const ns = allocateNamespacePair()
  let backend: LinkBackend | null = null
  const unregister = registerCleanup(() => {
    backend?.closeSync()
    deleteNamespaceSync(ns.server)
    deleteNamespaceSync(ns.client)
  })
  try {
    await Promise.all([createNamespace(ns.server), createNamespace(ns.client)])
    await applyServerTcpSettings(ns.server)
    const choice = await chooseMode(requested, ns)
    if (choice.mode === 'netem') {
      await configureAddresses(ns)
      backend = await startTcNetem(ns, LINK_DEVICE, profile)
    } else {
      backend = await startLinkemu({ namespaces: ns, device: LINK_DEVICE, profile, seed })
      await configureAddresses(ns)
    }
    log(`lowband netem: link ${name}: profile ${profile.id}, mode ${choice.mode} (${choice.reason}), seed ${seed}`)
    const link = new EmulatedLink(name, profile, seed, choice.reason, ns, backend, unregister, log)
    const schedule = scheduleFor(profile, options.outages)
    if (schedule) link.startSchedule(schedule)
    return link
  } catch (err) {
    backend?.closeSync()
    await Promise.all([deleteNamespace(ns.server), deleteNamespace(ns.client)])
    unregister()
    throw err
  }
}
