import { readdirSync, readFileSync } from 'node:fs'

/** Linux reports process CPU time in clock ticks of USER_HZ, 100 per second on every mainstream build. */
const TICKS_PER_SECOND = 100

/**
 * User and system CPU time, ms, from a `/proc/…/stat` line (fields 14 and 15). The command name
 * (field 2) may contain spaces, so fields are counted after its closing parenthesis.
 */
export function statCpuMs (stat: string): { user: number, system: number } {
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return { user: Number(fields[11]) * 1000 / TICKS_PER_SECOND, system: Number(fields[12]) * 1000 / TICKS_PER_SECOND }
}

/**
 * CPU ms so far of every thread of this process (`/proc/self/task`); a thread that ended after the
 * listing is left out. No side effects on import: the tail probe loads this into a broker.
 */
export function threadsCpuMs (): Array<{ tid: number, user: number, system: number }> {
  const threads = []
  for (const tid of readdirSync('/proc/self/task')) {
    let stat: string
    try { stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8') } catch { continue }
    threads.push({ tid: Number(tid), ...statCpuMs(stat) })
  }
  return threads
}
