import type { UserId } from '../protocol/ids.js'
import type { PushToken } from '../storage/contracts.js'
import { RUN_NOW, type LoopCalm } from './loop-calm.js'

/** Token reads in flight at once: the store's thread pool (4 threads) also runs the writes PUBACKs wait for. */
export const TOKEN_READS_AT_ONCE = 2

interface Waiting {
  readonly user: UserId
  readonly resolve: (tokens: PushToken[]) => void
  readonly reject: (error: unknown) => void
}

/**
 * Reads of users' push tokens from the directory, a few at a time, each started after the turn of
 * the event loop that asked for it. A burst of messages to a thousand sleeping phones whose tokens
 * are not cached yet asks for a thousand reads at once; started at once, each read's synchronous
 * part (an iterator with its snapshot, in the embedded store) ran inside the publish that caused it,
 * and the reads queued in the store's thread pool ahead of the durable writes that the next PUBACKs
 * wait for. Here they wait their turn instead: a push is a hint, and a few milliseconds later is
 * as good.
 */
export class TokenReads {
  readonly #read: (user: UserId) => Promise<PushToken[]>
  readonly #calm: Pick<LoopCalm, 'run'>
  readonly #waiting: Waiting[] = []
  #next = 0
  #inFlight = 0
  #scheduled = false
  #closed = false

  /** `calm` holds the reads back while the event loop is busy (loop-calm.ts). */
  constructor (read: (user: UserId) => Promise<PushToken[]>, calm: Pick<LoopCalm, 'run'> = RUN_NOW) {
    this.#read = read
    this.#calm = calm
  }

  read (user: UserId): Promise<PushToken[]> {
    if (this.#closed) return Promise.resolve([])
    return new Promise((resolve, reject) => {
      this.#waiting.push({ user, resolve, reject })
      this.#schedule()
    })
  }

  /** Reads not started yet find no tokens (nothing is pushed after close). */
  close (): void {
    this.#closed = true
    for (const waiting of this.#waiting.slice(this.#next)) waiting.resolve([])
    this.#waiting.length = this.#next = 0
  }

  #schedule (): void {
    if (this.#scheduled || this.#inFlight >= TOKEN_READS_AT_ONCE || this.#next >= this.#waiting.length) return
    this.#scheduled = true
    setImmediate(() => this.#calm.run(() => {
      this.#scheduled = false
      this.#start()
    }))
  }

  #start (): void {
    while (!this.#closed && this.#inFlight < TOKEN_READS_AT_ONCE && this.#next < this.#waiting.length) {
      const { user, resolve, reject } = this.#waiting[this.#next++]!
      this.#inFlight++
      // The executor turns a read that throws at once into a rejection like any other.
      new Promise<PushToken[]>((read) => read(this.#read(user))).then(resolve, reject).finally(() => {
        this.#inFlight--
        this.#schedule()
      })
    }
    // Everything handed out: the array starts over instead of growing for the broker's lifetime.
    if (this.#next === this.#waiting.length) this.#waiting.length = this.#next = 0
  }
}
