import { Writable } from 'node:stream'
import { pino, type Logger } from 'pino'
import type { PushMetrics } from '../../push/contracts.js'

/** A logger whose lines (parsed) the test can read. */
export function capturingLog (): { log: Logger, lines: Array<{ level: number, msg: string } & Record<string, unknown>> } {
  const lines: Array<{ level: number, msg: string } & Record<string, unknown>> = []
  const sink = new Writable({ write (chunk: Buffer, _enc, done) { lines.push(JSON.parse(chunk.toString()) as { level: number, msg: string }); done() } })
  return { log: pino({ level: 'debug' }, sink), lines }
}

/** PushMetrics that count into a plain object. */
export function countingMetrics (): PushMetrics & { counts: Record<string, number> } {
  const counts: Record<string, number> = {}
  const add = (name: string): void => { counts[name] = (counts[name] ?? 0) + 1 }
  return {
    counts,
    sent: () => add('sent'),
    coalesced: () => add('coalesced'),
    failed: (reason) => add(`failed:${reason}`),
    retried: () => add('retried'),
    pruned: () => add('pruned')
  }
}

/** Lets promise callbacks (a token read, a send's outcome) run. */
export function settle (): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve))
}
