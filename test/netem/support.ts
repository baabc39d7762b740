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

/** linkemu processes whose parent is `pid`. */
export function linkemuChildrenOf(pid: number): number[] {
  const found: number[] = []
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      // /proc/PID/stat: "pid (comm) state ppid ..."; comm may contain spaces, so split after ')'.
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8')
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'))
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
      if (comm.startsWith('linkemu') && ppid === pid) found.push(Number(entry))
    } catch {
      // The process ended while we looked.
    }
  }
  return found
}

/** Waits until `check` holds, for at most `ms`; returns whether it did. */
export async function eventually(check: () => boolean, ms = 3_000): Promise<boolean> {
  for (const until = Date.now() + ms; Date.now() < until; await sleep(50)) {
    if (check()) return true
  }
  return check()
}

/** Pids (other than this test's) whose command line mentions `text`: left-behind processes. */
export function processesMentioning (text: string): number[] {
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
}
