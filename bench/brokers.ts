import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { StoredBaseline } from './baseline-hooks.js'
import { ensureMosquitto, writeMosquittoConfig } from './mosquitto.js'
import { PrivatePostgres } from './private-postgres.js'
import { fdHardLimit, freePort, removeOnExit, spawnLimited, waitForLine, waitForPort, type Spawned } from './proc.js'

export type BrokerKind = 'lowband' | 'aedes' | StoredBaseline | 'mosquitto'
/** lowband's message store other than the embedded default: PostgreSQL, a private server started for the broker. */
export type LowbandStore = 'postgres'

/** Signs every bench token; lowband is started with it. */
export const JWT_SECRET = 'bench-secret-0123456789abcdef'

const LOWBAND_CLI = fileURLToPath(new URL('../bin/lowband.js', import.meta.url))
const PLAIN_AEDES = fileURLToPath(new URL('./plain-aedes.js', import.meta.url))
const GC_ON_SIGNAL = new URL('./gc-on-signal.js', import.meta.url).href
/** How gc-on-signal's report line starts. */
const MEMORY_REPORT = '{"benchMemory"'

export interface BrokerHandle {
  readonly kind: BrokerKind
  readonly pid: number
  /** MQTT over TCP on 127.0.0.1. */
  readonly port: number
  /** lowband's /metrics, /healthz and /readyz on 127.0.0.1. */
  readonly httpPort?: number
  /** Where recipients connect, when not `port` (a cluster: another node). */
  readonly recipientPort?: number
  /** The processes whose CPU the broker's work costs, by part (a cluster: its nodes, PostgreSQL, Redis); default the broker's own pid. */
  parts? (): Record<string, number[]>
  /** Asks a Node broker for a full GC (memory section); a no-op for mosquitto. */
  collectGarbage (): void
  /** process.memoryUsage() and the V8 heap's spaces as the broker reported them after its last requested GC. */
  lastMemoryUsage (): ReportedMemory | undefined
  /** Graceful stop (SIGTERM), so lowband drains and `--cpu-prof` writes its profile. */
  stop (): Promise<void>
  /** SIGKILL: after 100k connections nobody needs a graceful goodbye to each. */
  kill (): Promise<void>
}

/** V8 heap spaces (new_space, old_space, …): bytes committed and in use. */
export type HeapSpaces = Record<string, { committed: number, used: number }>

/** What bench/gc-on-signal.ts reports after a GC. */
export type ReportedMemory = NodeJS.MemoryUsage & { heapSpaces?: HeapSpaces }

export interface BrokerOptions {
  /** Extra flags for the node process of lowband or plain Aedes (e.g. --cpu-prof). */
  nodeFlags?: readonly string[]
  /** Options of `lowband start` added to the bench's, e.g. object storage for media (the last of a repeated option wins). */
  lowbandOptions?: readonly string[]
  /** Load gc-on-signal.ts so `collectGarbage` works. */
  gcOnSignal?: boolean
  /** lowband only: keep messages in a private PostgreSQL started for this broker and removed with it. */
  store?: LowbandStore
}

export async function startBroker (kind: BrokerKind, options: BrokerOptions = {}): Promise<BrokerHandle> {
  const flags = [...(options.nodeFlags ?? []), ...(options.gcOnSignal === true ? ['--expose-gc', `--import=${GC_ON_SIGNAL}`] : [])]
  switch (kind) {
    case 'lowband': return options.store === 'postgres' ? startLowbandOnPostgres(flags, options.lowbandOptions ?? []) : startLowband(flags, options.lowbandOptions ?? [])
    case 'aedes': return startPlainAedes(flags)
    case 'aedes-durable':
    case 'aedes-protocol': return startPlainAedes(flags, kind)
    case 'mosquitto': return startMosquitto()
  }
}

/**
 * lowband as its users run it (`lowband start`), with a fresh embedded store, a known JWT secret,
 * and the per-connection rate limits and the connection cap raised far above any bench load so it
 * measures the broker, not the limiters (the abuse section sets its own).
 */
export async function startLowband (flags: string[], options: readonly string[]): Promise<BrokerHandle> {
  const dataDir = removeOnExit(await mkdtemp(join(tmpdir(), 'lowband-bench-')))
  const spawned = spawnLimited(process.execPath, [...flags, LOWBAND_CLI, 'start',
    '--host', '127.0.0.1', '--port', '0', '--ws-port', '0', '--http-port', '0',
    '--data-dir', dataDir, '--jwt-secret', JWT_SECRET,
    '--rate-limit', '100000', '--rate-burst', '100000', '--rate-bytes', '1GiB', '--max-connections', String(fdHardLimit()),
    '--max-group-size', '256', '--log-level', 'info', ...options])
  const ports = await waitForLine(spawned, (line) => line.includes('"lowband ready"') ? JSON.parse(line) as { tcp: number, http: number } : undefined)
  return { ...handle('lowband', spawned, ports.tcp, flags.includes('--expose-gc'), () => rm(dataDir, { recursive: true, force: true })), httpPort: ports.http }
}

/** lowband with `--postgres` on a PostgreSQL server of its own (fsync on, as in production), stopped and removed with it. */
async function startLowbandOnPostgres (flags: string[], options: readonly string[]): Promise<BrokerHandle> {
  const postgres = await PrivatePostgres.create()
  try {
    const broker = await startLowband(flags, [...options, '--postgres', postgres.url])
    const also = async (stop: () => Promise<void>): Promise<void> => {
      try {
        await stop()
      } finally {
        await postgres.destroy()
      }
    }
    return { ...broker, stop: () => also(broker.stop), kill: () => also(broker.kill) }
  } catch (error) {
    await postgres.destroy()
    throw error
  }
}

/** Plain Aedes; a stored baseline gets a fresh LevelDB (bench/baseline-hooks.ts). */
async function startPlainAedes (flags: string[], stored?: StoredBaseline): Promise<BrokerHandle> {
  const store = stored === undefined ? undefined : { baseline: stored, dir: removeOnExit(await mkdtemp(join(tmpdir(), `${stored}-bench-`))) }
  const spawned = spawnLimited(process.execPath, [...flags, PLAIN_AEDES, '0', ...(store === undefined ? [] : [store.baseline, store.dir])])
  const port = await waitForLine(spawned, (line) => line.startsWith('{"ready"') ? (JSON.parse(line) as { port: number }).port : undefined)
  return handle(stored ?? 'aedes', spawned, port, flags.includes('--expose-gc'),
    async () => { if (store !== undefined) await rm(store.dir, { recursive: true, force: true }) })
}

async function startMosquitto (): Promise<BrokerHandle> {
  const binary = ensureMosquitto()
  const dir = removeOnExit(await mkdtemp(join(tmpdir(), 'mosquitto-bench-')))
  const port = await freePort()
  const spawned = spawnLimited(binary, ['-c', await writeMosquittoConfig(dir, port)])
  try {
    await waitForPort(port)
  } catch (error) {
    await spawned.stop()
    throw new Error(`mosquitto did not start: ${(error as Error).message}: ${spawned.output()}`)
  }
  return handle('mosquitto', spawned, port, false, () => rm(dir, { recursive: true, force: true }))
}

function handle (kind: BrokerKind, spawned: Spawned, port: number, gc: boolean, cleanUp: () => Promise<void>): BrokerHandle {
  return {
    kind,
    pid: spawned.pid,
    port,
    collectGarbage: () => { if (gc) process.kill(spawned.pid, 'SIGUSR2') },
    lastMemoryUsage: () => {
      // stdout and stderr share one buffer, so a log chunk may run into the report's line.
      const line = spawned.output().split('\n').reverse().find((l) => l.includes(MEMORY_REPORT) && l.endsWith('}'))
      if (line === undefined) return undefined
      const report = JSON.parse(line.slice(line.indexOf(MEMORY_REPORT))) as { benchMemory: NodeJS.MemoryUsage, heapSpaces?: HeapSpaces }
      return { ...report.benchMemory, ...(report.heapSpaces === undefined ? {} : { heapSpaces: report.heapSpaces }) }
    },
    async stop () {
      await spawned.stop(20_000)
      await cleanUp()
    },
    async kill () {
      spawned.child.kill('SIGKILL')
      await spawned.exited
      await cleanUp()
    }
  }
}
