import { execFileSync } from 'node:child_process'
import { readdirSync } from 'node:fs'
import { setTimeout as sleep } from 'node:timers/promises'
import { run, runSync } from './system.js'

/** Where `ip netns` keeps the bind mounts that name namespaces. */
export const NETNS_DIR = '/run/netns'

/**
 * Every namespace this project creates is named lb-srv-PID-N / lb-cli-PID-N:
 * the pid keeps parallel runs (vitest workers, two terminals) apart and lets
 * a later run recognise leftovers of a process that died without cleaning up.
 */
const OWN_NAME = /^lb-(?:srv|cli)-(\d+)-(\d+)$/

export interface NamespacePair {
  /** Holds the server end of the link ("down" leaves from here). */
  server: string
  /** Holds the phone end of the link ("up" leaves from here). */
  client: string
}

let nextPair = 0

export function allocateNamespacePair(): NamespacePair {
  const n = nextPair++
  return { server: `lb-srv-${process.pid}-${n}`, client: `lb-cli-${process.pid}-${n}` }
}

export function netnsPath(name: string): string {
  return `${NETNS_DIR}/${name}`
}

/** Namespaces named by this project, whoever created them. */
export function listOwnNamespaces(): string[] {
  try {
    return readdirSync(NETNS_DIR).filter((name) => OWN_NAME.test(name))
  } catch {
    return []
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    // EPERM: the process exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

export async function createNamespace(name: string): Promise<void> {
  await run('ip', ['netns', 'add', name])
  await run('ip', ['-n', name, 'link', 'set', 'lo', 'up'])
  // IPv4 only: otherwise the kernel sends router solicitations and MLD
  // reports across the emulated link, which skews its byte counters.
  await run('ip', [
    'netns',
    'exec',
    name,
    'sysctl',
    '-qw',
    'net.ipv6.conf.all.disable_ipv6=1',
    'net.ipv6.conf.default.disable_ipv6=1'
  ])
}

async function pidsIn(name: string): Promise<number[]> {
  try {
    const { stdout } = await run('ip', ['netns', 'pids', name])
    return stdout.split(/\s+/).filter(Boolean).map(Number)
  } catch {
    return []
  }
}

function signal(pids: readonly number[], sig: NodeJS.Signals): void {
  for (const pid of pids) {
    try {
      process.kill(pid, sig)
    } catch {
      // Already gone.
    }
  }
}

/**
 * Ends whatever still runs inside the namespace (only our own commands can be
 * there), then removes it; its interfaces go with it. Missing is fine.
 */
export async function deleteNamespace(name: string): Promise<void> {
  let pids = await pidsIn(name)
  if (pids.length > 0) {
    signal(pids, 'SIGTERM')
    for (let i = 0; i < 20 && pids.length > 0; i++) {
      await sleep(50)
      pids = await pidsIn(name)
    }
    signal(pids, 'SIGKILL')
  }
  await run('ip', ['netns', 'del', name]).catch(() => undefined)
}

/** For exit handlers: no waiting, SIGKILL straight away. */
export function deleteNamespaceSync(name: string): void {
  try {
    const out = execFileSync('ip', ['netns', 'pids', name], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
    signal(out.split(/\s+/).filter(Boolean).map(Number), 'SIGKILL')
  } catch {
    // No such namespace.
  }
  runSync('ip', ['netns', 'del', name])
}

/** Removes namespaces left by project processes that no longer run. Returns their names. */
export async function sweepStaleNamespaces(): Promise<string[]> {
  const stale = listOwnNamespaces().filter((name) => {
    const pid = Number(OWN_NAME.exec(name)?.[1])
    return pid !== process.pid && !isAlive(pid)
  })
  for (const name of stale) await deleteNamespace(name)
  return stale
}
