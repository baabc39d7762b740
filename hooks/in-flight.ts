/** Chat commands under way, so a graceful shutdown can let them finish storing and acknowledging. */
export class InFlight {
  readonly #running = new Set<Promise<unknown>>()

  track<T> (work: Promise<T>): Promise<T> {
    this.#running.add(work)
    const forget = (): void => { this.#running.delete(work) }
    work.then(forget, forget)
    return work
  }

  get size (): number {
    return this.#running.size
  }

  /** Resolves when everything under way now has settled, or after `timeoutMs`. */
  async drain (timeoutMs: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<false>((resolve) => { timer = setTimeout(() => resolve(false), timeoutMs) })
    const settled = Promise.allSettled([...this.#running]).then(() => true)
    const done = await Promise.race([settled, timeout])
    clearTimeout(timer)
    return done
  }
}
