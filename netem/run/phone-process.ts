import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { NetemError } from '../errors.js'
import type { Link } from '../link.js'
import { readJsonLines, writeJsonLine } from './json-lines.js'
import { phonesMain } from './paths.js'
import { quietMsFor, settledTraffic, toTraffic } from './traffic.js'
import { settlesWithin } from './wait.js'
import type { PhoneConfig, PhoneReport, PhoneToRunner, RunnerToPhone } from './types.js'

const STDERR_KEPT = 8_000

export interface PhoneProgress {
  delivered: number
  expected: number
  phase: string
}

/**
 * Runs the phone process inside the link's client namespace and serves its
 * requests for the link (counters, up/down, outage log), which only this side
 * can touch. Resolves with its report; the process is always ended before this returns.
 */
export async function runPhones(link: Link, config: PhoneConfig, timeoutMs: number, onProgress: (p: PhoneProgress) => void): Promise<PhoneReport> {
  const [cmd, ...argv] = link.command('client', [process.execPath, phonesMain()])
  const child = spawn(cmd ?? 'ip', argv, { stdio: ['pipe', 'pipe', 'pipe'] })
  // 'close', not 'exit': it comes after stdout is drained, so a result written just before exiting is read first.
  const exit = once(child, 'close') as Promise<[number | null, NodeJS.Signals | null]>
  let stderr = ''
  child.stderr.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-STDERR_KEPT)
  })
  const quietMs = quietMsFor(link)
  const reply = (message: RunnerToPhone): void => {
    if (child.stdin.writable) writeJsonLine(child.stdin, message)
  }

  const serve = async (request: Extract<PhoneToRunner, { type: 'request' }>): Promise<void> => {
    try {
      if (request.op === 'traffic') {
        reply({ type: 'reply', id: request.id, traffic: request.settle ? await settledTraffic(link, quietMs) : toTraffic(await link.counters()) })
      } else if (request.op === 'setLink') {
        await link.setLinkUp(request.up)
        reply({ type: 'reply', id: request.id })
      } else {
        const events = link.outageLog().map((e) => ({ state: e.state, atNs: e.atNs.toString(), cause: e.cause }))
        reply({ type: 'reply', id: request.id, events })
      }
    } catch (error) {
      reply({ type: 'reply', id: request.id, error: (error as Error).message })
    }
  }

  const describeFailure = (what: string): NetemError => new NetemError(`phones (${config.plan.scenario}) ${what}${stderr ? `: ${stderr.trim().slice(-2000)}` : ''}`)
  try {
    return await new Promise<PhoneReport>((resolve, reject) => {
      const timer = setTimeout(() => reject(describeFailure(`did not finish within ${Math.round(timeoutMs / 1000)} s`)), timeoutMs)
      const settle = (): void => clearTimeout(timer)
      readJsonLines<PhoneToRunner>(
        child.stdout,
        (message) => {
          if (message.type === 'request') void serve(message)
          else if (message.type === 'progress') onProgress(message)
          else if (message.type === 'result') {
            settle()
            resolve(message.report)
          } else {
            settle()
            reject(describeFailure(`failed: ${message.error}`))
          }
        },
        (line) => {
          stderr = (stderr + `${line}\n`).slice(-STDERR_KEPT)
        }
      )
      void exit.then(([code, signal]) => {
        settle()
        reject(describeFailure(`exited (${signal ?? code}) without a result`))
      })
      child.once('error', (error) => {
        settle()
        reject(new NetemError(`cannot start the phone process: ${error.message}`))
      })
      writeJsonLine<RunnerToPhone>(child.stdin, { type: 'start', config })
    })
  } finally {
    // It exits by itself after its result; give it a moment to close its clients, then make sure.
    if (child.exitCode === null && child.signalCode === null) {
      if (!(await settlesWithin(exit, 6_000)) && child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL')
        await exit
      }
    }
  }
}
