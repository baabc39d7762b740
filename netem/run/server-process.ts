import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { NetemError } from '../errors.js'
import type { Link } from '../link.js'
import { settlesWithin } from './wait.js'

/** How long a server process gets to start and say it is ready. */
const READY_TIMEOUT_MS = 30_000
/** How long a SIGTERM gets before SIGKILL. */
const STOP_GRACE_MS = 5_000
const OUTPUT_KEPT = 16_000

export interface ServerProcess<T> {
  /** What the ready line said (a port, a URL). */
  readonly ready: T
  /** The process's recent output (for error messages). */
  output(): string
  /** SIGTERM, then SIGKILL if it does not stop in time. Safe to call twice. */
  stop(): Promise<void>
}

function exited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null
}

/**
 * Starts `argv` inside the link's server namespace and resolves once `ready`
 * finds what it needs in a line of its stdout. setpriv (util-linux) asks the
 * kernel for a SIGTERM when the runner dies, even by SIGKILL: no server
 * process outlives its run.
 */
export async function startOnServer<T>(link: Link, what: string, argv: readonly string[], env: NodeJS.ProcessEnv, ready: (line: string) => T | undefined): Promise<ServerProcess<T>> {
  const [cmd, ...args] = link.command('server', ['setpriv', '--pdeathsig', 'TERM', '--', ...argv])
  const child = spawn(cmd ?? 'ip', args, { stdio: ['ignore', 'pipe', 'pipe'], env })
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
    const value = await new Promise<T>((resolve, reject) => {
      let lines = ''
      const timer = setTimeout(() => reject(new NetemError(`${what} not ready after ${READY_TIMEOUT_MS} ms: ${output.slice(-2000)}`)), READY_TIMEOUT_MS)
      child.stdout?.on('data', (chunk: Buffer) => {
        keep(chunk)
        lines += chunk.toString()
        for (let nl = lines.indexOf('\n'); nl >= 0; nl = lines.indexOf('\n')) {
          const line = lines.slice(0, nl)
          lines = lines.slice(nl + 1)
          let found: T | undefined
          try {
            found = ready(line)
          } catch (error) {
            clearTimeout(timer)
            reject(error)
            return
          }
          if (found === undefined) continue
          clearTimeout(timer)
          resolve(found)
        }
      })
      child.once('exit', (code, signal) => {
        clearTimeout(timer)
        reject(new NetemError(`${what} exited (${signal ?? code}) before it was ready: ${output.slice(-2000)}`))
      })
      child.once('error', (error) => {
        clearTimeout(timer)
        reject(new NetemError(`cannot start ${what}: ${error.message}`))
      })
    })
    return { ready: value, output: () => output, stop }
  } catch (error) {
    await stop()
    throw error
  }
}
