/** The part of a logger the outage log needs (pino's Logger fits). */
export interface OutageLogger {
  warn (fields: object, message: string): void
  info (fields: object, message: string): void
}

/**
 * Remembers whether object storage is down, so an outage is logged once when it starts (and once
 * when it ends) instead of once per request while every device keeps asking.
 */
export class OutageLog {
  readonly #log: OutageLogger
  #down = false

  constructor (log: OutageLogger) {
    this.#log = log
  }

  get down (): boolean {
    return this.#down
  }

  failed (error: unknown): void {
    if (this.#down) return
    this.#down = true
    this.#log.warn({ err: error }, 'object storage unavailable: media requests get STORAGE_UNAVAILABLE until it answers again')
  }

  answered (): void {
    if (!this.#down) return
    this.#down = false
    this.#log.info({}, 'object storage answers again')
  }
}
