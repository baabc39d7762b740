/** Removes a handler added with an `on…` method. */
export type Unsubscribe = () => void

/**
 * A set of handlers for one kind of event. A handler that throws does not stop the others or the
 * SDK: its error goes to `onHandlerError` (the client routes it to its error handlers).
 */
export class Listeners<T> {
  readonly #handlers = new Set<(value: T) => void>()
  readonly #onHandlerError: (error: unknown) => void

  constructor (onHandlerError: (error: unknown) => void = () => {}) {
    this.#onHandlerError = onHandlerError
  }

  get size (): number {
    return this.#handlers.size
  }

  add (handler: (value: T) => void): Unsubscribe {
    // Wrapped so the same function added twice is called twice and removed once per Unsubscribe.
    const entry = (value: T): void => handler(value)
    this.#handlers.add(entry)
    return () => { this.#handlers.delete(entry) }
  }

  emit (value: T): void {
    for (const handler of [...this.#handlers]) {
      try {
        handler(value)
      } catch (error) {
        this.#onHandlerError(error)
      }
    }
  }
}
