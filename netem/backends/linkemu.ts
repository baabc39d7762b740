import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process'
import { once } from 'node:events'
import { createInterface } from 'node:readline'
import { NetemError } from '../errors.js'
import { netnsPath, type NamespacePair } from '../namespaces.js'
import { nativeTool } from '../native.js'
import type { DirectionSpec, Profile } from '../profiles/index.js'
import type { DirectionCounters, LinkBackend, LinkCounters } from './types.js'

/** linkemu's per-direction counters, as it prints them. */
interface RawDirection {
  rx_packets: number
  rx_bytes: number
  tx_packets: number
  tx_bytes: number
  lost: number
  queue_dropped: number
  outage_dropped: number
  write_errors: number
}

interface LinkemuMessage {
  event: 'ready' | 'counters' | 'exit' | 'link' | 'error'
  down?: RawDirection
  up?: RawDirection
  message?: string
}

type Waiter = { event: 'counters' | 'link'; resolve: (m: LinkemuMessage) => void; reject: (e: Error) => void }

const READY_TIMEOUT_MS = 5_000
const QUIT_TIMEOUT_MS = 3_000

/** RATE_BPS:DELAY_US:JITTER_US:LOSS:REORDER:QUEUE_BYTES, as linkemu.c parses it. */
export function linkemuDirectionArg(spec: DirectionSpec): string {
  return [
    Math.round(spec.rateKbit * 1000),
    Math.round(spec.delayMs * 1000),
    Math.round(spec.jitterMs * 1000),
    spec.lossPct / 100,
    spec.reorderPct / 100,
    spec.queueBytes
  ].join(':')
}

function toCounters(raw: RawDirection): DirectionCounters {
  return {
    packets: raw.tx_packets,
    bytes: raw.tx_bytes,
    dropped: raw.lost + raw.queue_dropped + raw.outage_dropped + raw.write_errors,
    offeredPackets: raw.rx_packets,
    offeredBytes: raw.rx_bytes,
    lost: raw.lost,
    queueDropped: raw.queue_dropped,
    outageDropped: raw.outage_dropped
  }
}

function linkCounters(message: LinkemuMessage): LinkCounters {
  if (!message.down || !message.up) throw new NetemError('linkemu sent counters without both directions')
  return { down: toCounters(message.down), up: toCounters(message.up) }
}

class LinkemuBackend implements LinkBackend {
  readonly mode = 'linkemu' as const
  readonly #child: ChildProcessWithoutNullStreams
  readonly #waiters: Waiter[] = []
  #stderr = ''
  #final: LinkCounters | null = null
  #exited = false

  constructor(child: ChildProcessWithoutNullStreams) {
    this.#child = child
    child.stderr.setEncoding('utf8')
    child.stderr.on('data', (chunk: string) => {
      this.#stderr = (this.#stderr + chunk).slice(-2_000)
    })
    child.on('exit', () => {
      this.#exited = true
      const err = new NetemError(`linkemu exited: ${this.#stderr.trim() || 'no message'}`)
      for (const w of this.#waiters.splice(0)) w.reject(err)
    })
  }

  /** Feeds one stdout line; returns the message for whoever else wants it (ready). */
  handleLine(line: string): LinkemuMessage | null {
    let message: LinkemuMessage
    try {
      message = JSON.parse(line) as LinkemuMessage
    } catch {
      return null
    }
    if (message.event === 'exit') this.#final = linkCounters(message)
    if (message.event === 'error') this.#waiters.shift()?.reject(new NetemError(`linkemu: ${message.message ?? ''}`))
    if (message.event === 'counters' || message.event === 'link') {
      const index = this.#waiters.findIndex((w) => w.event === message.event)
      if (index >= 0) this.#waiters.splice(index, 1)[0]?.resolve(message)
    }
    return message
  }

  get stderr(): string {
    return this.#stderr
  }

  #request(command: string, event: Waiter['event']): Promise<LinkemuMessage> {
    if (this.#exited) return Promise.reject(new NetemError('linkemu is not running'))
    return new Promise((resolve, reject) => {
      this.#waiters.push({ event, resolve, reject })
      this.#child.stdin.write(`${command}\n`)
    })
  }

  async counters(): Promise<LinkCounters> {
    if (this.#exited && this.#final) return this.#final
    return linkCounters(await this.#request('stats', 'counters'))
  }

  async setLinkUp(up: boolean): Promise<void> {
    await this.#request(up ? 'up' : 'down', 'link')
  }

  async close(): Promise<LinkCounters> {
    if (!this.#exited) {
      const exited = once(this.#child, 'exit')
      this.#child.stdin.end('quit\n')
      const timer = setTimeout(() => this.#child.kill('SIGKILL'), QUIT_TIMEOUT_MS)
      await exited
      clearTimeout(timer)
    }
    if (!this.#final) throw new NetemError(`linkemu ended without final counters: ${this.#stderr.trim()}`)
    return this.#final
  }

  closeSync(): void {
    if (!this.#exited) this.#child.kill('SIGTERM')
  }
}

export interface LinkemuOptions {
  namespaces: NamespacePair
  /** Interface name inside both namespaces. */
  device: string
  profile: Profile
  seed: number
}

/**
 * Starts linkemu, which creates the TUN device `device` in each namespace and
 * forwards between them. Resolves once both devices exist.
 */
export async function startLinkemu(options: LinkemuOptions): Promise<LinkBackend> {
  const binary = await nativeTool('linkemu')
  const { namespaces, device, profile, seed } = options
  const args = [
    '--netns-a', netnsPath(namespaces.server),
    '--netns-b', netnsPath(namespaces.client),
    '--dev', device,
    '--down', linkemuDirectionArg(profile.down),
    '--up', linkemuDirectionArg(profile.up),
    '--seed', String(seed),
    // If this process dies without closing the link, linkemu removes the namespaces.
    '--cleanup-netns', netnsPath(namespaces.server),
    '--cleanup-netns', netnsPath(namespaces.client)
  ]
  // Its own process group: Ctrl-C in a terminal is meant for the command under test, not for the link.
  // linkemu still ends with us (PR_SET_PDEATHSIG and its stdin closing).
  const child = spawn(binary, args, { stdio: ['pipe', 'pipe', 'pipe'], detached: true })
  const backend = new LinkemuBackend(child)
  const lines = createInterface({ input: child.stdout })

  const ready = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new NetemError('linkemu did not start within 5 s')), READY_TIMEOUT_MS)
    lines.on('line', (line) => {
      if (backend.handleLine(line)?.event === 'ready') {
        clearTimeout(timer)
        resolve()
      }
    })
    child.once('error', (err) => {
      clearTimeout(timer)
      reject(new NetemError(`cannot start linkemu: ${err.message}`))
    })
    child.once('exit', (code) => {
      clearTimeout(timer)
      reject(new NetemError(`linkemu failed (exit ${code}): ${backend.stderr.trim()}`))
    })
  })
  try {
    await ready
  } catch (err) {
    backend.closeSync()
    throw err
  }
  return backend
}
