import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { cpus, freemem, loadavg, release, totalmem } from 'node:os'
import { ensureMosquitto, mosquittoVersion } from './mosquitto.js'

export interface Machine {
  cpuModel: string
  cores: number
  memoryGiB: number
  freeMemoryGiB: number
  kernel: string
  node: string
  aedes: string
  mosquitto: string
  /** 1-minute load average when the run started: other work on the machine makes figures noisy. */
  loadAverage1m: number
  date: string
  /** The commit measured (short hash, `-dirty` with uncommitted changes), so a saved run names its code. */
  commit: string
}

/** Above this 1-minute load average at the start, a run on this 2-core machine is labelled a busy machine's. */
export const BUSY_LOAD_AVERAGE = 0.5

function currentCommit (): string {
  const git = (...args: string[]): string => execFileSync('git', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim()
  try {
    return `${git('rev-parse', '--short', 'HEAD')}${git('status', '--porcelain', '--untracked-files=no') === '' ? '' : '-dirty'}`
  } catch {
    return 'unknown'
  }
}

/** The machine a run was made on, printed with every result so runs can be compared honestly. */
export function describeMachine (withMosquitto: boolean): Machine {
  // aedes exports no ./package.json; read it where npm put it (dist/bench → the project root).
  const aedes = (JSON.parse(readFileSync(new URL('../../node_modules/aedes/package.json', import.meta.url), 'utf8')) as { version: string }).version
  return {
    cpuModel: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    freeMemoryGiB: Math.round(freemem() / 2 ** 30),
    kernel: release(),
    node: process.version,
    aedes,
    mosquitto: withMosquitto ? mosquittoVersion(ensureMosquitto()) : 'not used',
    loadAverage1m: Math.round(loadavg()[0]! * 100) / 100,
    date: new Date().toISOString(),
    commit: currentCommit()
  }
}
