import type { Backoff } from './backoff.js'
import { sleep, type CancelTimer, type Clock } from './clock.js'
import { ConnectionRefusedError, LinkSilentError, SubscriptionRefusedError } from './errors.js'
import type { StatusStream } from './status.js'
import type { Transport } from './transport.js'

/** What the client does with each connection; the connection loop knows nothing of chat. */
export interface ConnectionHooks {
  /** A fresh transport for one attempt (the token may be fetched anew each time). */
  createTransport (): Promise<Transport>
  message (topic: string, payload: Uint8Array): void
  /** Connected: subscribe, resume, resend. A rejection drops this connection and retries. */
  opened (transport: Transport): Promise<void>
  /** The open connection is gone (also on close()). */
  lost (): void
  /**
   * How long an attempt may hear nothing from the network (no TCP handshake) before a fresh
   * socket replaces it, ms; undefined for no bound (the transport's connectTimeoutMs alone).
   */
  handshakeTimeoutMs (): number | undefined
}

/**
 * For this long after the first attempt the network left unanswered was cut, ms, each such attempt is
 * followed by a fresh one at once (one SYN per handshake bound, 1 s or more): an outage of a
 * tunnel or a lift (the `flapping` profile's are 10–30 s) ends with a SYN within a second. Past
 * it, attempts wait their backoff delay again, so a phone out of coverage for hours does not wake
 * its radio every second; the app's connectivity event (reconnectNow()) still gets one at once.
 */
const SILENT_RETRY_WINDOW_MS = 60_000

/** reconnectNow() cut an attempt short: a fresh one starts at once; not a failure. */
class AttemptRestarted extends Error {
  constructor () {
    super('connection attempt restarted by reconnectNow()')
    this.name = 'AttemptRestarted'
  }
}

type Attempt = { outcome: 'lost' } | { outcome: 'failed', error: unknown }

/**
 * The reconnect state machine: connect, run until lost, wait a backoff delay, connect again; until
 * close() or a fatal error. Statuses: connecting → connected → disconnected → reconnecting{1,…} →
 * (reconnecting{2,…} →) connected … → closed. A refused CONNACK is fatal except "server
 * unavailable"; a refused token gets one more try when a token function can renew it; a refused
 * subscription is fatal. An attempt that hears nothing from the network within
 * `handshakeTimeoutMs()` is abandoned and a fresh socket tried at once, without a backoff delay
 * (for a minute of such attempts in a row, {@link SILENT_RETRY_WINDOW_MS}):
 * its first SYN then leaves now, not when the kernel's SYN backoff (1, 2, 4, 8 … s) next allows,
 * which after an outage of a few seconds is seconds after the link is back. A refusal (RST, a
 * CONNACK code, a closed socket) still waits its backoff delay, so a broker that refuses never
 * gets a storm of attempts.
 */
export class Connection {
  readonly #hooks: ConnectionHooks
  readonly #backoff: Backoff
  readonly #clock: Clock
  readonly #status: StatusStream
  readonly #stop = new AbortController()
  readonly #renewableCredentials: boolean
  /** The transport of the attempt under way or the open connection. */
  #transport: Transport | undefined
  #open = false
  #loop: Promise<void> | undefined
  #refusals = 0
  /** reconnectNow() was called: the next attempt starts without a backoff delay. */
  #hurry = false
  /** Cuts the backoff delay under way short. */
  #wake: AbortController | undefined
  /** When the first of the attempts in a row that the network left unanswered was cut, ms. */
  #silentSince: number | undefined
  /** Ends the attempt waiting for its connection (a fresh one follows). */
  #cut: ((reason: Error) => void) | undefined

  /** `renewableCredentials`: the token comes from a function, so a refused one may be renewed. */
  constructor (hooks: ConnectionHooks, backoff: Backoff, clock: Clock, status: StatusStream, renewableCredentials: boolean) {
    this.#hooks = hooks
    this.#backoff = backoff
    this.#clock = clock
    this.#status = status
    this.#renewableCredentials = renewableCredentials
  }

  /** The transport of the open connection, if there is one. */
  get transport (): Transport | undefined {
    return this.#open ? this.#transport : undefined
  }

  /**
   * Starts the loop. Resolves once the first connection is open. With `retryFirst` false the first
   * failure rejects and closes; otherwise the loop retries until it connects or is closed.
   */
  start (retryFirst: boolean): Promise<void> {
    if (this.#loop !== undefined) return Promise.reject(new Error('connect() was already called'))
    return new Promise((resolve, reject) => {
      this.#loop = this.#run(retryFirst, resolve, reject)
    })
  }

  /** Stops for good: no more attempts; an open connection is closed politely. */
  async close (): Promise<void> {
    if (this.#stop.signal.aborted) return this.#loop
    this.#stop.abort()
    await this.#transport?.close()
    await this.#loop
  }

  /**
   * Drops the open connection (without waiting for a dead link to close politely) and connects
   * again at once, or cuts a backoff delay short: for the app's connectivity-change events (the
   * phone's OS says the network is back) and the dead-link probe.
   */
  reconnectNow (): void {
    if (this.#stop.signal.aborted || this.#loop === undefined) return
    this.#hurry = true
    this.#wake?.abort()
    if (this.#open) void this.#transport?.close(true)
    // An attempt still connecting may be stuck in the kernel's SYN backoff: a fresh socket sends its SYN now.
    else this.#cut?.(new AttemptRestarted())
  }

  async #run (retryFirst: boolean, opened: () => void, failedFirst: (error: unknown) => void): Promise<void> {
    let first = true
    this.#status.set({ type: 'connecting' })
    let fatal: Error | undefined
    while (!this.#stop.signal.aborted) {
      const attempt = await this.#attempt(() => {
        first = false
        opened()
      })
      if (this.#stop.signal.aborted) break
      const silent = attempt.outcome === 'failed' && attempt.error instanceof LinkSilentError
      const restart = silent || (attempt.outcome === 'failed' && attempt.error instanceof AttemptRestarted)
      if (attempt.outcome === 'failed' && !restart) {
        fatal = this.#fatal(attempt.error)
        if (fatal !== undefined || (first && !retryFirst)) {
          fatal ??= toError(attempt.error)
          break
        }
      }
      if (this.#hurry) this.#backoff.reset()
      // The network answered (or the app asked): the window of quick retries starts afresh next time.
      if (silent) this.#silentSince ??= this.#clock.now()
      else this.#silentSince = undefined
      const soon = restart && (!silent || this.#clock.now() - this.#silentSince! < SILENT_RETRY_WINDOW_MS)
      const delayMs = this.#hurry || soon ? 0 : this.#backoff.next()
      this.#hurry = false
      const reconnecting = { type: 'reconnecting', attempt: Math.max(this.#backoff.attempt, 1), delayMs } as const
      this.#status.set(attempt.outcome === 'failed' ? { ...reconnecting, error: toError(attempt.error) } : reconnecting)
      if (delayMs > 0) await this.#sleep(delayMs)
    }
    if (first) failedFirst(fatal ?? new Error('closed before the first connection'))
    this.#stop.abort()
    this.#status.set(fatal === undefined ? { type: 'closed' } : { type: 'closed', error: fatal })
  }

  async #sleep (delayMs: number): Promise<void> {
    const wake = new AbortController()
    this.#wake = wake
    const stop = (): void => wake.abort()
    this.#stop.signal.addEventListener('abort', stop, { once: true })
    await sleep(this.#clock, delayMs, wake.signal)
    this.#stop.signal.removeEventListener('abort', stop)
    this.#wake = undefined
    this.#hurry = false
  }

  async #attempt (onOpen: () => void): Promise<Attempt> {
    let transport: Transport
    try {
      transport = await this.#hooks.createTransport()
    } catch (error) {
      return { outcome: 'failed', error }
    }
    const closed = new Promise<Error | undefined>((resolve) => transport.onClose(resolve))
    transport.onMessage((topic, payload) => this.#hooks.message(topic, payload))
    // Set before connect() so close() can abort an attempt still waiting for its CONNACK.
    this.#transport = transport
    const cut = new Promise<never>((_resolve, reject) => { this.#cut = reject })
    const cancelSilence = this.#boundSilence(transport)
    try {
      if (this.#stop.signal.aborted) throw new Error('closed')
      const connected = transport.connect()
      // A cut attempt's own outcome comes later, if ever, and is not waited for.
      connected.catch(() => {})
      await Promise.race([connected, cut])
    } catch (error) {
      this.#transport = undefined
      await transport.close(error instanceof AttemptRestarted || error instanceof LinkSilentError)
      return { outcome: 'failed', error }
    } finally {
      cancelSilence()
      this.#cut = undefined
    }
    this.#refusals = 0
    this.#open = true
    try {
      await this.#hooks.opened(transport)
    } catch (error) {
      this.#open = false
      this.#transport = undefined
      await transport.close()
      this.#hooks.lost()
      return { outcome: 'failed', error }
    }
    if (this.#stop.signal.aborted) await transport.close()
    else {
      this.#backoff.reset()
      this.#status.set({ type: 'connected' })
      onOpen()
    }
    const error = await closed
    this.#open = false
    this.#transport = undefined
    this.#hooks.lost()
    if (!this.#stop.signal.aborted) this.#status.set(error === undefined ? { type: 'disconnected' } : { type: 'disconnected', error })
    return { outcome: 'lost' }
  }

  /** Cuts the attempt on `transport` if the network has not answered within the handshake bound. */
  #boundSilence (transport: Transport): CancelTimer {
    const waitMs = this.#hooks.handshakeTimeoutMs()
    if (waitMs === undefined || transport.onEstablished === undefined) return () => {}
    const cancel = this.#clock.setTimer(waitMs, () => this.#cut?.(new LinkSilentError(waitMs)))
    transport.onEstablished(cancel)
    return cancel
  }

  #fatal (error: unknown): Error | undefined {
    if (error instanceof SubscriptionRefusedError) return error
    if (!(error instanceof ConnectionRefusedError)) return undefined
    if (error.retryable) return undefined
    if (error.credentials && this.#renewableCredentials && ++this.#refusals < 2) return undefined
    return error
  }
}

function toError (error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error))
}
