import { readJsonLines, writeJsonLine } from '../run/json-lines.js'
import type { ControlOp, LinkEventWire, PhoneConfig, PhoneReport, PhoneToRunner, RunnerToPhone, Traffic } from '../run/types.js'

type Reply = Extract<RunnerToPhone, { type: 'reply' }>

/**
 * The phone process's line to the runner: the link itself (its counters and
 * its up/down switch) lives in the runner, on the host side, so a scenario
 * asks for them here. stdout carries only protocol lines; logs go to stderr.
 */
export class RunnerControl {
  readonly #pending = new Map<number, (reply: Reply) => void>()
  readonly #config: Promise<PhoneConfig>
  #nextId = 1

  constructor() {
    let gotConfig: (config: PhoneConfig) => void = () => undefined
    this.#config = new Promise((resolve) => {
      gotConfig = resolve
    })
    readJsonLines<RunnerToPhone>(
      process.stdin,
      (message) => {
        if (message.type === 'start') gotConfig(message.config)
        else this.#pending.get(message.id)?.(message)
      },
      (line) => process.stderr.write(`phones: ignored a line from the runner: ${line}\n`)
    )
    // The runner never closes this pipe while it runs: its end means the runner is gone (killed,
    // Ctrl-C), and a phone left behind would hold sockets in a namespace that no longer exists.
    process.stdin.once('end', () => process.exit(1))
  }

  config(): Promise<PhoneConfig> {
    return this.#config
  }

  /** Link byte counters; with `settle`, once the link has gone quiet (the last acks and receipts crossed). */
  async traffic(settle: boolean): Promise<Traffic> {
    const reply = await this.#request({ op: 'traffic', settle })
    if (!reply.traffic) throw new Error('runner sent no traffic counters')
    return reply.traffic
  }

  async setLinkUp(up: boolean): Promise<void> {
    await this.#request({ op: 'setLink', up })
  }

  /** Every link state change so far (scheduled outages included). */
  async linkEvents(): Promise<LinkEventWire[]> {
    return (await this.#request({ op: 'events' })).events ?? []
  }

  progress(delivered: number, expected: number, phase: string): void {
    this.#send({ type: 'progress', delivered, expected, phase })
  }

  result(report: PhoneReport): void {
    this.#send({ type: 'result', report })
  }

  failed(error: string): void {
    this.#send({ type: 'failed', error })
  }

  #request(op: ControlOp): Promise<Reply> {
    const id = this.#nextId++
    return new Promise((resolve, reject) => {
      this.#pending.set(id, (reply) => {
        this.#pending.delete(id)
        if (reply.error !== undefined) reject(new Error(reply.error))
        else resolve(reply)
      })
      this.#send({ type: 'request', id, ...op })
    })
  }

  #send(message: PhoneToRunner): void {
    writeJsonLine(process.stdout, message)
  }
}
