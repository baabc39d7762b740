import { spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
import { NetemError } from '../errors.js'
import type { Link, LinkSide } from '../link.js'
import { nativeTool } from '../native.js'

/** lbprobe's answers (see netem/probe/lbprobe.c); ns timestamps arrive as strings. */
export interface PingResult {
  sent: number
  received: number
  ip_size: number
  rtt_us: number[]
}

export interface SinkResult {
  packets: number
  distinct: number
  duplicates: number
  reordered: number
  ip_bytes: number
  first_ip_bytes: number
  first_ns: string
  last_ns: string
  gaps_ns: Array<[string, string]>
}

export interface BlastResult {
  sent: number
  send_errors: number
  ip_size: number
  start_ns: string
  end_ns: string
}

export interface RunningProbe<T> {
  /** Resolves when the probe's socket is bound (echo, sink); immediately for the others. */
  ready: Promise<void>
  result: Promise<T>
  /** Asks the probe to finish now (SIGTERM); sinks then report what they have. */
  stop(): void
}

/** Ports inside the link's private namespaces; nothing else listens there. */
export const PROBE_PORTS = { echo: 7001, sinkDown: 7002, sinkUp: 7003 } as const

/**
 * Starts lbprobe inside one end of the link. A probe that outlives
 * `timeoutMs` is killed and its result rejected, so a broken link fails the
 * check instead of hanging it.
 */
export async function startProbe<T>(
  link: Link,
  side: LinkSide,
  args: ReadonlyArray<string | number>,
  timeoutMs: number
): Promise<RunningProbe<T>> {
  const binary = await nativeTool('lbprobe')
  const argv = link.command(side, [binary, ...args.map(String)])
  const [cmd, ...rest] = argv
  const child = spawn(cmd ?? 'ip', rest, { stdio: ['ignore', 'pipe', 'pipe'] })
  let stderr = ''
  child.stderr.setEncoding('utf8')
  child.stderr.on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-1_000)
  })
  const waitsForReady = args[0] === 'echo' || args[0] === 'sink'
  let markReady: () => void = () => undefined
  const ready = waitsForReady ? new Promise<void>((resolve) => (markReady = resolve)) : Promise.resolve()

  const result = new Promise<T>((resolve, reject) => {
    let answer: T | undefined
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
    createInterface({ input: child.stdout }).on('line', (line) => {
      let message: unknown
      try {
        message = JSON.parse(line)
      } catch {
        return
      }
      if (typeof message === 'object' && message !== null && 'event' in message) {
        if (message.event === 'ready') markReady()
        return
      }
      answer = message as T
    })
    child.once('error', (err) => reject(new NetemError(`cannot run lbprobe: ${err.message}`)))
    child.once('close', (code, signal) => {
      clearTimeout(timer)
      if (answer !== undefined) resolve(answer)
      else reject(new NetemError(`lbprobe ${args[0]} ${signal === 'SIGKILL' ? 'timed out' : `failed (${code})`}: ${stderr.trim()}`))
    })
  })
  // Callers await `result` later; until then a failure must not count as an unhandled rejection.
  result.catch(() => undefined)
  // A probe that dies before it is ready must not leave the caller waiting on `ready`.
  const readyOrDead = Promise.race([ready, result.then(() => undefined)])
  return { ready: readyOrDead, result, stop: () => child.kill('SIGTERM') }
}
