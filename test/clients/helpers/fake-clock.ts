import type { CancelTimer, Clock } from '../../../clients/sdk/index.js'

/** A clock that moves only when told to; timers fire in due order during advance(). */
export class FakeClock implements Clock {
  #now = 0
  #nextId = 0
  readonly #timers = new Map<number, { due: number, callback: () => void }>()

  now (): number {
    return this.#now
  }

  setTimer (delayMs: number, callback: () => void): CancelTimer {
    const id = this.#nextId++
    this.#timers.set(id, { due: this.#now + delayMs, callback })
    return () => { this.#timers.delete(id) }
  }

  /** Delays of the timers now pending, relative to now, soonest first. */
  get pending (): number[] {
    return [...this.#timers.values()].map((t) => t.due - this.#now).sort((a, b) => a - b)
  }

  advance (ms: number): void {
    const until = this.#now + ms
    for (;;) {
      let next: [number, { due: number, callback: () => void }] | undefined
      for (const entry of this.#timers) if (entry[1].due <= until && (next === undefined || entry[1].due < next[1].due)) next = entry
      if (next === undefined) break
      this.#timers.delete(next[0])
      this.#now = next[1].due
      next[1].callback()
    }
    this.#now = until
  }
}
