import { Listeners, type Unsubscribe } from './listeners.js'

/**
 * The connection state of a client, as a typed stream (after nats.js `Status`):
 * - `connecting`: the first attempt is under way;
 * - `connected`: subscribed, resume and outbox sent;
 * - `disconnected`: an established connection was lost (`error` says why, when known);
 * - `reconnecting`: attempt `attempt` starts in `delayMs` (backoff with full jitter); `error` is
 *   why the previous attempt failed, when one did;
 * - `closed`: for good, by close() or a fatal error (`error`).
 */
export type Status =
  | { readonly type: 'connecting' }
  | { readonly type: 'connected' }
  | { readonly type: 'disconnected', readonly error?: Error }
  | { readonly type: 'reconnecting', readonly attempt: number, readonly delayMs: number, readonly error?: Error }
  | { readonly type: 'closed', readonly error?: Error }

/** The current status, its change events, and async iterators over the changes. */
export class StatusStream {
  #current: Status = { type: 'disconnected' }
  readonly #listeners: Listeners<Status>
  /** Wakers of iterators waiting for the next status. */
  readonly #iterators = new Set<{ queue: Status[], wake: (() => void) | undefined }>()

  constructor (onHandlerError: (error: unknown) => void) {
    this.#listeners = new Listeners(onHandlerError)
  }

  get current (): Status {
    return this.#current
  }

  set (status: Status): void {
    this.#current = status
    this.#listeners.emit(status)
    for (const iterator of this.#iterators) {
      iterator.queue.push(status)
      iterator.wake?.()
    }
  }

  on (handler: (status: Status) => void): Unsubscribe {
    return this.#listeners.add(handler)
  }

  /** Every status from now on; the iteration ends after `closed`. Breaking out of it unsubscribes. */
  iterate (): AsyncIterableIterator<Status> {
    const state: { queue: Status[], wake: (() => void) | undefined } = { queue: [], wake: undefined }
    const iterators = this.#iterators
    if (this.#current.type !== 'closed') iterators.add(state)
    let done = this.#current.type === 'closed'
    const finish = (): IteratorResult<Status> => {
      done = true
      iterators.delete(state)
      return { done: true, value: undefined }
    }
    return {
      [Symbol.asyncIterator] () { return this },
      async next (): Promise<IteratorResult<Status>> {
        if (done) return { done: true, value: undefined }
        while (state.queue.length === 0) await new Promise<void>((resolve) => { state.wake = resolve })
        state.wake = undefined
        const value = state.queue.shift()!
        if (value.type === 'closed') {
          done = true
          iterators.delete(state)
        }
        return { done: false, value }
      },
      async return (): Promise<IteratorResult<Status>> {
        return finish()
      }
    }
  }
}
