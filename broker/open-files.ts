import { readFileSync } from 'node:fs'

/**
 * Descriptors kept back from connections for everything else the process opens: the embedded
 * store's table files (LevelDB's open-file budget), its logs, the listeners, PostgreSQL and other
 * service pools, and Node's own. A flood of connections that took them would fail stores.
 */
export const RESERVED_FILES = 1024

/** Where neither /proc nor a limit can be read (not Linux): a limit most systems allow. */
const FALLBACK_LIMIT = 4096

/**
 * The default of --max-connections: the process's open-files limit less the reserve, and never
 * more than half of a small limit. Node raises its soft limit to the hard one at start-up, so this
 * is the limit the process runs with (20 000 on the machines lowband is measured on: 18 976).
 */
export function defaultMaxConnections (limit = openFilesLimit()): number {
  return Math.max(limit - RESERVED_FILES, Math.floor(limit / 2))
}

/** The soft limit on open files of this process (`Max open files` in /proc/self/limits). */
export function openFilesLimit (): number {
  try {
    const match = /^Max open files\s+(\S+)/m.exec(readFileSync('/proc/self/limits', 'utf8'))
    if (match === null) return FALLBACK_LIMIT
    return match[1] === 'unlimited' ? 1_048_576 : Number(match[1])
  } catch {
    return FALLBACK_LIMIT
  }
}
