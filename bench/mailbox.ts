import type { RawClient } from './raw-client.js'

export interface Arrival { topic: string, payload: Buffer, at: number }

/** What a RawClient receives, and a way to wait for the next arrival matching a condition. */
export class Mailbox {
  readonly arrivals: Arrival[] = []
  readonly #waiters = new Set<(arrival: Arrival) => void>()

  constructor (client: RawClient) {
    client.onMessage = (topic, payload) => {
      const arrival = { topic, payload, at: performance.now() }
      this.arrivals.push(arrival)
      for (const wake of this.#waiters) wake(arrival)
    }
  }

  /** Resolves with the first arrival from now on for which `match` holds. */
  next (match: (arrival: Arrival) => boolean, timeoutMs = 10_000): Promise<Arrival> {
    return new Promise((resolve, reject) => {
      const wake = (arrival: Arrival): void => {
        if (!match(arrival)) return
        done()
        resolve(arrival)
      }
      const timer = setTimeout(() => { done(); reject(new Error(`nothing matching arrived within ${timeoutMs} ms`)) }, timeoutMs)
      const done = (): void => { clearTimeout(timer); this.#waiters.delete(wake) }
      this.#waiters.add(wake)
    })
  }
}
