import { ErrorNotice, InboxMessage, Receipt, ResumeRequest, SendRequest, StoredAck, Synced, type Body } from '../../protocol/envelopes.js'
import { ERROR_CODES, LowbandError } from '../../protocol/errors.js'
import { clientIdOf, isValidId } from '../../protocol/ids.js'
import { ackTopic, classifyUserTopic, COMMAND, errorTopic, userSubtree } from '../../protocol/topics.js'
import { Backoff } from './backoff.js'
import { toChatMessage, toChatReceipt, type ChatMessage, type ChatReceipt } from './chat-message.js'
import { clientMsgIdKey, newClientMsgId } from './client-msg-id.js'
import type { CancelTimer } from './clock.js'
import { Connection } from './connection.js'
import { ClientClosedError, errorFromNotice } from './errors.js'
import { InboxSequencer, type InboxSlot } from './inbox-sequencer.js'
import { Listeners, type Unsubscribe } from './listeners.js'
import { resolveOptions, type ClientOptions, type ResolvedOptions } from './options.js'
import { Outbox, type SendResult } from './outbox.js'
import { RecentIds } from './recent-ids.js'
import { StatusStream, type Status } from './status.js'
import type { Transport } from './transport.js'

export interface SendOptions {
  /** 0 text (default), 1 media, 2 system; see KIND in the protocol. */
  kind?: number
}

/**
 * One device of one user. Messages arrive through onMessage in inbox order, once each; the cursor
 * (the last seq delivered) is reported through onCursor for the caller to persist and pass back
 * as `cursor` next time. Sends are kept in an outbox and resent with the same client id after a
 * reconnect until the broker says stored (the broker deduplicates resends).
 *
 * Register handlers before connect(): the replay of missed messages starts right after it.
 */
export class LowbandClient {
  readonly #options: ResolvedOptions
  readonly #status: StatusStream
  readonly #errors = new Listeners<Error>()
  readonly #messages: Listeners<ChatMessage>
  readonly #receipts: Listeners<ChatReceipt>
  readonly #cursors: Listeners<number>
  readonly #syncs: Listeners<number>
  readonly #sequencer: InboxSequencer
  readonly #outbox: Outbox
  readonly #recentIds: RecentIds
  readonly #connection: Connection
  readonly #firstSync: Promise<number>
  #resolveFirstSync: (head: number) => void = () => {}
  #cancelRatePause: CancelTimer | undefined
  #started = false

  constructor (options: ClientOptions) {
    this.#options = resolveOptions(options)
    const o = this.#options
    const reportHandlerError = (error: unknown): void => this.#errors.emit(error instanceof Error ? error : new Error(String(error)))
    this.#status = new StatusStream(reportHandlerError)
    this.#messages = new Listeners(reportHandlerError)
    this.#receipts = new Listeners(reportHandlerError)
    this.#cursors = new Listeners(reportHandlerError)
    this.#syncs = new Listeners(reportHandlerError)
    this.#outbox = new Outbox(o.maxInFlight)
    this.#recentIds = new RecentIds(o.recentIds)
    this.#sequencer = new InboxSequencer(o.cursor, o.clock, o.gapTimeoutMs, {
      deliver: (slot) => this.#deliver(slot),
      cursor: (cursor) => this.#cursors.emit(cursor),
      caughtUp: (cursor) => {
        this.#resolveFirstSync(cursor)
        this.#syncs.emit(cursor)
      },
      gap: (cursor) => this.#requestReplay(this.#connection.transport, cursor)
    })
    this.#firstSync = new Promise<number>((resolve, reject) => {
      this.#resolveFirstSync = resolve
      this.#status.on((status) => { if (status.type === 'closed') reject(new ClientClosedError({ cause: status.error })) })
    })
    // Nobody may be waiting on synced(); its rejection at close must not be "unhandled".
    this.#firstSync.catch(() => {})
    this.#status.on((status) => { if (status.type === 'closed') this.#shutDown(status.error) })
    this.#connection = new Connection({
      createTransport: async () => o.transportFactory({
        url: o.url,
        clientId: clientIdOf(o.userId, o.deviceId),
        username: o.userId,
        password: typeof o.token === 'string' ? o.token : await o.token(),
        // A send-only device must not inherit the persistent session (and its u/<self>/#
        // subscription) of a reading device with the same id: it would acknowledge, and so mark
        // delivered, messages nobody reads.
        clean: o.sendOnly,
        keepaliveSeconds: o.keepaliveSeconds,
        connectTimeoutMs: o.connectTimeoutMs
      }),
      message: (topic, payload) => this.#route(topic, payload),
      opened: (transport) => this.#opened(transport),
      lost: () => {
        this.#outbox.connectionLost()
        this.#sequencer.pause()
      }
    }, new Backoff(o.backoff, o.random), o.clock, this.#status, typeof o.token === 'function')
  }

  get userId (): string {
    return this.#options.userId
  }

  get deviceId (): string {
    return this.#options.deviceId
  }

  /** The last inbox seq delivered (or passed by one of this device's own sends). */
  get cursor (): number {
    return this.#sequencer.cursor
  }

  get status (): Status {
    return this.#status.current
  }

  /**
   * Starts connecting; resolves once connected (subscribed; resume and outbox sent). By default
   * a failing first attempt rejects and closes the client (right for a CLI); with `retry` it is
   * retried with backoff like any reconnect (right for an app that may start offline).
   */
  connect (options: { retry?: boolean } = {}): Promise<void> {
    if (this.#status.current.type === 'closed') return Promise.reject(new ClientClosedError())
    this.#started = true
    return this.#connection.start(options.retry === true)
  }

  /**
   * Sends a message; resolves once the broker has stored it (PUBACK and stored-ack), rejects with a
   * LowbandError carrying the broker's code. Offline, it waits in the outbox for the next connection.
   */
  send (to: string, body: Body, options: SendOptions = {}): Promise<SendResult> {
    if (this.#status.current.type === 'closed') return Promise.reject(new ClientClosedError())
    if (!isValidId(to)) return Promise.reject(new LowbandError('BAD_ENVELOPE', `to: not a user id: ${JSON.stringify(to)}`))
    if (typeof body !== 'string' && !(body instanceof Uint8Array)) return Promise.reject(new LowbandError('BAD_ENVELOPE', 'body: a string or bytes'))
    const kind = options.kind ?? 0
    if (!Number.isInteger(kind) || kind < 0 || kind > 255) return Promise.reject(new LowbandError('BAD_ENVELOPE', `kind: 0-255, got ${kind}`))
    const clientMsgId = newClientMsgId()
    const payload = SendRequest.encode({ clientMsgId, to, body, ...(kind === 0 ? {} : { kind }) })
    const result = this.#outbox.add(clientMsgIdKey(clientMsgId), clientMsgId, payload)
    this.#pump()
    return result
  }

  onMessage (handler: (message: ChatMessage) => void): Unsubscribe {
    return this.#messages.add(handler)
  }

  /** Delivered and read receipts, in inbox order with the messages. */
  onReceipt (handler: (receipt: ChatReceipt) => void): Unsubscribe {
    return this.#receipts.add(handler)
  }

  /** The cursor moved; it is called right after the message at that seq went to onMessage. */
  onCursor (handler: (cursor: number) => void): Unsubscribe {
    return this.#cursors.add(handler)
  }

  /** Caught up with the inbox head announced after each (re)connect's replay. */
  onSynced (handler: (cursor: number) => void): Unsubscribe {
    return this.#syncs.add(handler)
  }

  /** Errors not tied to one send: broker notices, undecodable payloads, throwing handlers. */
  onError (handler: (error: Error) => void): Unsubscribe {
    return this.#errors.add(handler)
  }

  onStatus (handler: (status: Status) => void): Unsubscribe {
    return this.#status.on(handler)
  }

  /** The status changes from now on, as an async iterable; it ends with `closed`. */
  statuses (): AsyncIterableIterator<Status> {
    return this.#status.iterate()
  }

  /** Resolves with the cursor once the first replay has caught up (never for `sendOnly`); rejects if the client closes first. */
  synced (): Promise<number> {
    return this.#firstSync
  }

  /** Disconnects for good. Sends still in the outbox reject with ClientClosedError. */
  async close (): Promise<void> {
    if (this.#status.current.type === 'closed') return
    if (this.#started) await this.#connection.close()
    else this.#status.set({ type: 'closed' })
  }

  async #opened (transport: Transport): Promise<void> {
    const self = this.#options.userId
    if (this.#options.sendOnly) {
      const subscribed = Promise.all([transport.subscribe(ackTopic(self), 0), transport.subscribe(errorTopic(self), 0)])
      this.#pump()
      await subscribed
      return
    }
    // Subscribe, resume and resend are pipelined: one round trip instead of three on a slow link.
    // Should a live message slip between the replay and the subscription, the seq gap it leaves
    // is noticed and replayed (see InboxSequencer).
    const subscribed = transport.subscribe(userSubtree(self), 1)
    this.#requestReplay(transport, this.#sequencer.cursor)
    this.#sequencer.restart()
    this.#pump()
    await subscribed
  }

  #requestReplay (transport: Transport | undefined, cursor: number): void {
    transport?.publish(COMMAND.resume, ResumeRequest.encode({ cursor }), 1)
      .catch(() => { /* lost with the connection; the next one resumes */ })
  }

  /** Publishes what the outbox window allows on the open connection. */
  #pump (): void {
    const transport = this.#connection.transport
    if (transport === undefined || this.#cancelRatePause !== undefined) return
    for (const entry of this.#outbox.takeReady()) {
      const attempt = entry.attempt
      transport.publish(COMMAND.send, entry.payload, 1).then(() => {
        this.#outbox.pubacked(entry.key, attempt)
        this.#pump()
      }, () => { /* lost with the connection: the outbox queues it again */ })
    }
  }

  #route (topic: string, payload: Uint8Array): void {
    const where = classifyUserTopic(topic)
    if (where === undefined || where.userId !== this.#options.userId) return
    if (this.#options.sendOnly && where.kind !== 'ack' && where.kind !== 'error') return
    try {
      switch (where.kind) {
        case 'inbox':
        case 'echo': {
          const message = InboxMessage.decode(payload)
          return this.#sequencer.accept(message.seq, { type: 'message', message })
        }
        case 'ack': {
          const ack = StoredAck.decode(payload)
          this.#outbox.stored(clientMsgIdKey(ack.clientMsgId), ack)
          if (!this.#options.sendOnly) this.#sequencer.accept(ack.seq, { type: 'sent' })
          return
        }
        case 'receipt': {
          const receipt = Receipt.decode(payload)
          return this.#sequencer.accept(receipt.seq, { type: 'receipt', receipt })
        }
        case 'error':
          return this.#noticed(ErrorNotice.decode(payload))
        case 'synced':
          return this.#sequencer.synced(Synced.decode(payload).seq)
        default:
          // A topic of a newer broker: ignored, as the protocol's unknown keys are.
          return
      }
    } catch (error) {
      this.#errors.emit(error instanceof Error ? error : new Error(String(error)))
    }
  }

  #noticed (notice: ErrorNotice): void {
    const key = notice.clientMsgId === undefined ? undefined : clientMsgIdKey(notice.clientMsgId)
    if (key === undefined || !this.#outbox.has(key)) return this.#errors.emit(errorFromNotice(notice))
    if (notice.code !== ERROR_CODES.RATE_LIMITED.code) return this.#outbox.fail(key, errorFromNotice(notice))
    // Slow down instead of failing: a backlog flushed after a reconnect can hit the rate limit.
    this.#outbox.requeue(key)
    this.#cancelRatePause ??= this.#options.clock.setTimer(this.#options.rateLimitPauseMs, () => {
      this.#cancelRatePause = undefined
      this.#pump()
    })
  }

  #deliver (slot: Exclude<InboxSlot, { type: 'sent' }>): void {
    if (slot.type === 'receipt') return this.#receipts.emit(toChatReceipt(slot.receipt))
    const message = slot.message
    if (message.from === this.#options.userId && message.clientMsgId !== undefined) {
      const key = clientMsgIdKey(message.clientMsgId)
      // This device's own send, replayed before its stored-ack came: it confirms the send, and
      // send() is where the application hears about it.
      if (this.#outbox.has(key)) return this.#outbox.seen(key, { clientMsgId: message.clientMsgId, id: message.id, seq: message.seq, cseq: message.cseq, ts: message.ts })
    }
    if (!this.#recentIds.add(message.id)) return
    this.#messages.emit(toChatMessage(message, this.#options.userId))
  }

  #shutDown (error: Error | undefined): void {
    this.#cancelRatePause?.()
    this.#cancelRatePause = undefined
    this.#sequencer.pause()
    this.#outbox.failAll(new ClientClosedError({ cause: error }))
  }
}
