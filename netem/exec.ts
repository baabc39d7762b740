import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { writeFile } from 'node:fs/promises'
import { constants } from 'node:os'
import { setTimeout as sleep } from 'node:timers/promises'
import type { LinkCounters, LinkMode } from './backends/types.js'
import { createLink, type Link } from './link.js'
import type { Profile } from './profiles/index.js'
import { deferSignal } from './teardown.js'

export interface ExecOptions {
  profile: Profile
  /** argv run on the phone side; its exit code becomes ours. */
  clientArgv: readonly string[]
  /** A shell command run on the server side first (e.g. the broker), stopped when the client exits. */
  serverCommand?: string
  /** How long to give the server command before starting the client, ms. */
  serverWaitMs: number
  seed?: number
  mode?: 'auto' | LinkMode
  outages: boolean
  /** Write the final counters and outage log here as JSON. */
  countersFile?: string
  log: (line: string) => void
}

/** What the commands under test learn about the link. */
function linkEnv(link: Link): NodeJS.ProcessEnv {
  return {
    ...process.env,
    LOWBAND_NETEM_PROFILE: link.profile.id,
    LOWBAND_NETEM_MODE_USED: link.mode,
    LOWBAND_SERVER_ADDR: link.serverAddr,
    LOWBAND_CLIENT_ADDR: link.clientAddr,
    LOWBAND_SERVER_NS: link.serverNs,
    LOWBAND_CLIENT_NS: link.clientNs
  }
}

function spawnIn(link: Link, side: 'server' | 'client', argv: readonly string[]): ChildProcess {
  const [cmd, ...args] = link.command(side, argv)
  return spawn(cmd ?? 'ip', args, { stdio: 'inherit', env: linkEnv(link) })
}

/** Shell-style exit status: the code, or 128 + the signal that ended the process. */
async function exitStatus(child: ChildProcess): Promise<number> {
  const [code, signal] = (await once(child, 'exit')) as [number | null, NodeJS.Signals | null]
  if (signal) return 128 + (constants.signals[signal] ?? 0)
  return code ?? 1
}

function summary(c: LinkCounters): string {
  const side = (name: string, d: LinkCounters['down']): string => `${name} ${d.packets} packets / ${d.bytes} bytes (${d.dropped} dropped)`
  return `${side('down', c.down)}, ${side('up', c.up)}`
}

/**
 * Runs a command on the phone side of an emulated link (and optionally a
 * server command on the other side), then tears the link down and reports
 * what crossed it. Resolves with the client command's exit status.
 */
export async function execUnderProfile(options: ExecOptions): Promise<number> {
  const link = await createLink(options.profile, {
    seed: options.seed,
    mode: options.mode,
    outages: options.outages ? 'profile' : 'none',
    log: options.log
  })
  let status = 1
  try {
    options.log(`lowband netem: server ${link.serverAddr} in ${link.serverNs}, phone ${link.clientAddr} in ${link.clientNs}`)
    status = await deferSignal('SIGINT', async () => {
      const server = options.serverCommand ? spawnIn(link, 'server', ['sh', '-c', options.serverCommand]) : null
      if (server) await sleep(options.serverWaitMs)
      const clientStatus = await exitStatus(spawnIn(link, 'client', options.clientArgv))
      server?.kill('SIGTERM')
      return clientStatus
    })
  } finally {
    // Also ends whatever the commands left running inside the namespaces.
    const counters = await link.close()
    options.log(`lowband netem: ${summary(counters)}`)
    if (options.countersFile) {
      const report = { profile: link.profile.id, mode: link.mode, seed: link.seed, counters, outages: link.outageLog() }
      await writeFile(options.countersFile, JSON.stringify(report, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v), 2))
    }
  }
  return status
}
