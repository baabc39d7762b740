import { spawn, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'

export const CLI = fileURLToPath(new URL('../../dist/bin/lowband.js', import.meta.url))

export interface BrokerProcess {
  child: ChildProcess
  ports: { tcp: number, ws: number, http: number, tls?: number }
  output: () => string
  /** Resolves with the exit code. */
  exited: Promise<number | null>
}

/** Runs `lowband start` as a real process and waits for its "lowband ready" log line. */
export function spawnBroker (args: string[], env: NodeJS.ProcessEnv = {}): Promise<BrokerProcess> {
  const child = spawn(process.execPath, [CLI, 'start', '--host', '127.0.0.1', '--port', '0', '--ws-port', '0', '--http-port', '0', ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  let output = ''
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  return new Promise((resolve, reject) => {
    const onData = (chunk: Buffer): void => {
      output += chunk.toString()
      for (const line of output.split('\n')) {
        if (!line.includes('"lowband ready"')) continue
        const { tcp, ws, http, tls } = JSON.parse(line) as BrokerProcess['ports']
        child.stdout!.off('data', onData)
        child.stdout!.on('data', (more: Buffer) => { output += more.toString() })
        resolve({ child, ports: { tcp, ws, http, ...(tls === undefined ? {} : { tls }) }, output: () => output, exited })
        return
      }
    }
    child.stdout!.on('data', onData)
    child.stderr!.on('data', (chunk: Buffer) => { output += chunk.toString() })
    exited.then((code) => reject(new Error(`broker exited with ${code}: ${output}`)))
  })
}

/** Runs the CLI to completion. */
export function runCli (args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null, stdout: string, stderr: string }> {
  const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (c: Buffer) => { stdout += c.toString() })
  child.stderr.on('data', (c: Buffer) => { stderr += c.toString() })
  return new Promise((resolve) => child.once('close', (code) => resolve({ code, stdout, stderr })))
}
