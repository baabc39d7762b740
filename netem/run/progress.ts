import type { PhoneProgress } from './phone-process.js'

const BAR_WIDTH = 24
/** Without a terminal, one line per this many ms of a run at most (logs stay readable in CI). */
const PLAIN_EVERY_MS = 10_000

export interface ProgressStream {
  write(text: string): boolean
  isTTY?: boolean
}

/**
 * Progress of a series of runs on stderr: a bar redrawn in place on a
 * terminal, plain lines otherwise. Log lines go through log() so they never
 * land in the middle of the bar.
 */
export class Progress {
  readonly #out: ProgressStream
  readonly #tty: boolean
  readonly #total: number
  #done = 0
  #label = ''
  #phase: PhoneProgress | null = null
  #runStarted = 0
  #lastPlain = 0
  #timer: NodeJS.Timeout | undefined

  constructor(total: number, out: ProgressStream = process.stderr) {
    this.#out = out
    this.#tty = out.isTTY === true
    this.#total = total
  }

  start(label: string): void {
    this.#label = label
    this.#phase = null
    this.#runStarted = Date.now()
    this.#lastPlain = this.#runStarted
    if (this.#tty) {
      this.#timer ??= setInterval(() => this.#draw(), 1000).unref()
      this.#draw()
    } else {
      this.#line(`[${this.#done + 1}/${this.#total}] ${label}…`)
    }
  }

  update(progress: PhoneProgress): void {
    this.#phase = progress
    if (this.#tty) return this.#draw()
    const now = Date.now()
    if (now - this.#lastPlain >= PLAIN_EVERY_MS) {
      this.#lastPlain = now
      this.#line(`[${this.#done + 1}/${this.#total}] ${this.#label}: ${this.#detail()}`)
    }
  }

  /** The current run is over; `summary` is its one-line result. */
  finish(summary: string): void {
    this.#done++
    this.log(`[${this.#done}/${this.#total}] ${this.#label}: ${summary} (${this.#elapsed()})`)
    if (this.#done >= this.#total) this.close()
  }

  /** Prints a line above the bar. */
  log(line: string): void {
    if (this.#tty) this.#out.write('\r\x1b[2K')
    this.#line(line)
    if (this.#tty && this.#done < this.#total) this.#draw()
  }

  close(): void {
    clearInterval(this.#timer)
    this.#timer = undefined
    if (this.#tty) this.#out.write('\r\x1b[2K')
  }

  #line(text: string): void {
    this.#out.write(`lowband netem: ${text}\n`)
  }

  #detail(): string {
    const p = this.#phase
    if (p === null) return 'connecting phones'
    return p.expected === 0 ? `${p.phase}: starting` : `${p.phase}: ${p.delivered}/${p.expected} delivered`
  }

  #elapsed(): string {
    return `${((Date.now() - this.#runStarted) / 1000).toFixed(1)} s`
  }

  #draw(): void {
    const p = this.#phase
    const within = p !== null && p.expected > 0 ? p.delivered / p.expected : 0
    const fraction = Math.min(1, (this.#done + 0.95 * within) / this.#total)
    const filled = Math.round(fraction * BAR_WIDTH)
    const bar = `${'█'.repeat(filled)}${'░'.repeat(BAR_WIDTH - filled)}`
    this.#out.write(`\r\x1b[2K[${bar}] ${this.#done}/${this.#total}  ${this.#label}  ${this.#detail()}  ${this.#elapsed()}`)
  }
}
