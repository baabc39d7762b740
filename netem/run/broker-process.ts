import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { NetemError } from '../errors.js'
import type { Link } from '../link.js'
import { brokerCli } from './paths.js'
import { settlesWithin } from './wait.js'

/** How long the broker gets to open its store and listen. */
const READY_TIMEOUT_MS = 30_000
/** How long a SIGTERM gets before SIGKILL. */
const STOP_GRACE_MS = 5_000
const OUTPUT_KEPT = 16_000

export interface BrokerOnLink {
  /** MQTT over TCP, on link.serverAddr. */
  readonly port: number
  /** The broker's recent log output (for error messages). */
  output(): string
  /** SIGTERM, then SIGKILL if it does not stop in time. Safe to call twice. */
  stop(): Promise<void>
}

/**
 * The environment of the broker: ours, minus any LOWBAND_* setting of the
 * caller's shell (a LOWBAND_POSTGRES_URL, say, points at nothing reachable
 * from inside the namespace), plus the run's own secret.
 */
function brokerEnv(jwtSecret: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {}
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith('LOWBAND_')) env[key] = value
  // By environment rather than argv: a secret on a command line is visible in ps.
  env.LOWBAND_JWT_SECRET = jwtSecret
  return env
}

function exited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null
}

/**
 * Starts `lowband start` inside the link's server namespace, listening on the
 * server address with ephemeral ports, and resolves once its "lowband ready"
 * log line names the MQTT port.
 */
export async function startBrokerOnLink(link: Link, dataDir: string, jwtSecret: string): Promise<BrokerOnLink> {
  const args = ['start', '--host', link.serverAddr, '--port', '0', '--ws-port', '0', '--http-port', '0', '--data-dir', dataDir]
  // info, not warn: the ready line the port is read from is an info line. setpriv (util-linux) asks
  // the kernel for a SIGTERM when the runner dies, even by SIGKILL: no broker outlives its run.
  const broker = [process.execPath, brokerCli(), ...args, '--log-level', 'info']
  const [cmd, ...argv] = link.command('server', ['setpriv', '--pdeathsig', 'TERM', '--', ...broker])
  const child = spawn(cmd ?? 'ip', argv, { stdio: ['ignore', 'pipe', 'pipe'], env: brokerEnv(jwtSecret) })
  let output = ''
  const keep = (chunk: Buffer): void => {
    output = (output + chunk.toString()).slice(-OUTPUT_KEPT)
  }
  child.stderr?.on('data', keep)

  const stop = async (): Promise<void> => {
    if (exited(child)) return
    const gone = once(child, 'exit')
    child.kill('SIGTERM')
    if (!(await settlesWithin(gone, STOP_GRACE_MS)) && !exited(child)) {
      child.kill('SIGKILL')
      await gone
    }
  }

  try {
    const port = await new Promise<number>((resolve, reject) => {
      let lines = ''
      const timer = setTimeout(() => reject(new NetemError(`broker not ready after ${READY_TIMEOUT_MS} ms: ${output.slice(-2000)}`)), READY_TIMEOUT_MS)
      child.stdout?.on('data', (chunk: Buffer) => {
        keep(chunk)
        lines += chunk.toString()
        for (let nl = lines.indexOf('\n'); nl >= 0; nl = lines.indexOf('\n')) {
          const line = lines.slice(0, nl)
          lines = lines.slice(nl + 1)
          if (!line.includes('"lowband ready"')) continue
          const { tcp } = JSON.parse(line) as { tcp?: unknown }
          clearTimeout(timer)
          if (typeof tcp === 'number') resolve(tcp)
          else reject(new NetemError(`broker ready line without a tcp port: ${line}`))
        }
      })
      child.once('exit', (code, signal) => {
        clearTimeout(timer)
        reject(new NetemError(`broker exited (${signal ?? code}) before it was ready: ${output.slice(-2000)}`))
      })
      child.once('error', (error) => {
        clearTimeout(timer)
        reject(new NetemError(`cannot start the broker: ${error.message}`))
      })
    })
    return { port, output: () => output, stop }
  } catch (error) {
    await stop()
    throw error
  }
}
