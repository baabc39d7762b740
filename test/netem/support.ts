import { readdirSync, readFileSync } from 'node:fs'
import { setTimeout as sleep } from 'node:timers/promises'
import { listOwnNamespaces } from '../../netem/namespaces.js'
import { emulationUnavailableReason } from '../../netem/preflight.js'

/** Why the link tests cannot run here (not root, no TUN), or null. */
export const skipReason = emulationUnavailableReason()
if (skipReason) console.warn(`netem link tests skipped: ${skipReason}`)

/** Namespaces this project made for process `pid`. */
export function namespacesOf(pid: number): string[] {
  return listOwnNamespaces().filter((name) => name.includes(`-${pid}-`))
}

/** A process's name and parent, from /proc/PID/stat, or undefined when it is gone. */
function statOf(pid: number | string): { comm: string; ppid: number } | undefined {
  try {
    // "pid (comm) state ppid ...": comm may contain spaces, so split after ')'.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return { comm: stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')), ppid: Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) }
  } catch {
    return undefined
  }
}

/** linkemu processes whose parent is `pid`. */
export function linkemuChildrenOf(pid: number): number[] {
  return readdirSync('/proc')
    .filter((e) => /^\d+$/.test(e))
    .filter((e) => {
      const stat = statOf(e)
      return stat !== undefined && stat.comm.startsWith('linkemu') && stat.ppid === pid
    })
    .map(Number)
}

/** Waits until `check` holds, for at most `ms`; returns whether it did. */
export async function eventually(check: () => boolean, ms = 3_000): Promise<boolean> {
  for (const until = Date.now() + ms; Date.now() < until; await sleep(50)) {
    if (check()) return true
  }
  return check()
}

/** Whether `pid` is `root` or runs below it. */
function descendsFrom(pid: number, root: number): boolean {
  for (let p: number | undefined = pid; p !== undefined && p > 1; p = statOf(p)?.ppid) if (p === root) return true
  return false
}

/**
 * Pids (other than this test's) whose command line mentions `text`: left-behind processes.
 * With `under`, only those in that process's tree, so that another test file's run
 * (vitest runs two files at once) is never taken for this one's.
 */
export function processesMentioning(text: string, under?: number): number[] {
  return readdirSync('/proc')
    .filter((e) => /^\d+$/.test(e) && Number(e) !== process.pid)
    .filter((e) => {
      try {
        return readFileSync(`/proc/${e}/cmdline`, 'utf8').includes(text)
      } catch {
        return false
      }
    })
    .map(Number)
    .filter((pid) => under === undefined || descendsFrom(pid, under))
}
