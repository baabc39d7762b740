import { execFile, execFileSync } from 'node:child_process'
import { NetemError } from './errors.js'

export interface RunResult {
  stdout: string
  stderr: string
}

function describe(cmd: string, args: readonly string[]): string {
  return [cmd, ...args].join(' ')
}

function firstLine(text: string): string {
  return text.trim().split('\n')[0] ?? ''
}

/** Runs a program (never through a shell) and resolves with its output; rejects with its stderr. */
export function run(cmd: string, args: readonly string[], timeoutMs = 15_000): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { timeout: timeoutMs, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      if (err) {
        const code = (err as NodeJS.ErrnoException).code
        const why = code === 'ENOENT' ? `${cmd} is not installed` : firstLine(stderr) || err.message
        reject(new NetemError(`${describe(cmd, args)}: ${why}`, { cause: err }))
        return
      }
      resolve({ stdout, stderr })
    })
  })
}

/** Like run, but a failure is an answer (false), not an error. */
export async function succeeds(cmd: string, args: readonly string[]): Promise<boolean> {
  try {
    await run(cmd, args)
    return true
  } catch {
    return false
  }
}

/**
 * Synchronous variant for process 'exit' handlers, where nothing asynchronous
 * runs any more. Never throws: teardown must try every step.
 */
export function runSync(cmd: string, args: readonly string[]): boolean {
  try {
    execFileSync(cmd, args, { stdio: 'ignore', timeout: 5_000 })
    return true
  } catch {
    return false
  }
}
