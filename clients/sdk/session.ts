import { BrokerUrls } from './broker-urls.js'
import { PreKeysLow } from '../../protocol/e2e.js'
import { encodeSend, ErrorNotice, InboxMessage, PresenceUpdate, Receipt, ResumeRequest, StoredAck, Synced, TypingNotice, type SendRequest } from '../../protocol/envelopes.js'
import { ERROR_CODES, LowbandError } from '../../protocol/errors.js'
import { clientIdOf } from '../../protocol/ids.js'
import { Response } from '../../protocol/requests.js'
import { ackTopic, classifyUserTopic, COMMAND, errorTopic, responseTopic, userSubtree } from '../../protocol/topics.js'
import { Backoff } from './backoff.js'
import { toChatMessage, type ChatMessage } from './chat-message.js'
import { clientMsgIdKey, newClientMsgId } from './client-msg-id.js'
import type { CancelTimer } from './clock.js'
import { Connection } from './connection.js'
import { sendTopicOf, type Conversation } from './conversation.js'
import { ClientClosedError, errorFromNotice } from './errors.js'
import { InboxSequencer, type InboxSlot } from './inbox-sequencer.js'
import { LinkWatchdog } from './link-watchdog.js'
import type { ResolvedOptions } from './options.js'
import { Outbox, type SendResult } from './outbox.js'
import { RecentIds } from './recent-ids.js'
import { RttEstimator } from './rtt.js'
import { SendWindow } from './send-window.js'
import type { StatusStream } from './status.js'
import type { Transport, TransportPublish } from './transport.js'

/** What the session hands to the client above it. Inbox events come in inbox order, once each. */
export interface SessionEvents {
  /** A message of the inbox (this device's own sends excepted: they settle send() instead). */
  message (message: ChatMessage): void
  receipt (receipt: Receipt): void
  /** A send of this device is stored (✓), once per send. */
  stored (conversation: Conversation, result: SendResult): void
  cursor (cursor: number): void
  caughtUp (cursor: number): void
  typing (notice: TypingNotice): void
  response (response: Response): void
  presence (contact: string, update: PresenceUpdate): void
  /** A connection is open and subscribed to; features re-subscribe and flush what waited here. */
  opened (transport: Transport): void
  /** Errors not tied to one send. */
  error (error: Error): void
  /**
   * What the application sees of a message (end-to-end: decrypted), or undefined to keep it from
   * the application (the encryption's own traffic). Called in inbox order, once per message.
   */
  reveal? (chat: ChatMessage, wire: InboxMessage): ChatMessage | undefined
  /** The key directory says a device of this user is low on one-time prekeys. */
  keysLow? (notice: PreKeysLow): void
}

/** Fresh client message ids one send tries before it fails: one collision is rare (PROTOCOL.md, "Client message ids"), three in a row mean a broken broker. */
const ID_TRIES = 3
/** The will lowband devices set: the broker marks this device offline when the link dies without a DISCONNECT. */
const OFFLINE_WILL = Object.freeze({ topic: COMMAND.offline, payload: new Uint8Array(0), qos: 0 as const })

/**
 * Payload bytes of early sends behind a CONNECT: a TCP Fast Open SYN carries one segment less the
 * option room (1420 bytes on a 1500-byte path); a CONNECT with its token takes ~200 of them, the
 * resume ~20, and each PUBLISH's header and topic ~10 more than its payload.
 */
const EARLY_BYTES = 1000

/**
 * One device's link to its inbox: the reconnecting connection, the inbox put back in order, and
 * the outbox of sends. Everything chat-specific above plain messages (statuses, presence, typing,
 * requests) lives in the client's feature modules, which see the session only through its events
 * and its open transport.
 */
export class Session {
  readonly #options: ResolvedOptions
  readonly #events: SessionEvents
  readonly #sequencer: InboxSequencer
  readonly #outbox: Outbox
  readonly #recentIds: RecentIds
  readonly #connection: Connection
  readonly #rtt = new RttEstimator()
  readonly #window: SendWindow
  readonly #watchdog: LinkWatchdog
  #cancelRatePause: CancelTimer | undefined
  /** reconnectNow() said the network is back, and no attempt has started since. */
  #linkBack = false
  /** Gives early copies (Outbox.takeEarly) still unconfirmed after the CONNACK back to QoS 1. */
  #cancelEarlyWait: CancelTimer | undefined

  constructor (options: ResolvedOptions, status: StatusStream, events: SessionEvents) {
    this.#options = options
    this.#events = events
    const o = options
    this.#outbox = new Outbox(o.userId, (conversation, result) => events.stored(conversation, result))
    this.#window = new SendWindow(o.clock, o.maxInFlight)
    this.#recentIds = new RecentIds(o.recentIds)
    this.#sequencer = new InboxSequencer(o.cursor, o.clock, o.gapTimeoutMs, {
      deliver: (slot) => this.#deliver(slot),
      cursor: (cursor) => events.cursor(cursor),
      caughtUp: (cursor) => events.caughtUp(cursor),
      gap: (cursor) => this.#requestReplay(this.#connection.transport, cursor)
    })
    const urls = new BrokerUrls(o.urls, o.random)
    this.#connection = new Connection({
      createTransport: async () => o.transportFactory({
        url: urls.next(),
        clientId: clientIdOf(o.userId, o.deviceId),
        username: o.userId,
        password: typeof o.token === 'string' ? o.token : await o.token(),
        // A send-only device must not inherit the persistent session (and its u/<self>/#
        // subscription) of a reading device with the same id: it would acknowledge, and so mark
        // delivered, messages nobody reads.
        clean: o.sendOnly,
        keepaliveSeconds: o.keepaliveSeconds,
        connectTimeoutMs: o.connectTimeoutMs,
        noDelay: o.noDelay,
        will: OFFLINE_WILL,
        pipelined: this.#pipelined()
      }),
      message: (topic, payload) => this.#route(topic, payload),
      opened: (transport) => this.#opened(transport),
      handshakeTimeoutMs: () => this.#rtt.handshakeTimeoutMs(),
      lost: () => {
        this.#cancelEarlyWait?.()
        this.#cancelEarlyWait = undefined
        this.#watchdog.reset()
        this.#window.connectionLost()
        this.#outbox.connectionLost()
        this.#sequencer.pause()
      }
    }, new Backoff(o.backoff, o.random), o.clock, status, typeof o.token === 'function')
    this.#watchdog = new LinkWatchdog(o.clock, this.#rtt, {
      probe: () => this.#connection.transport?.ping?.(),
      dead: () => this.#connection.reconnectNow()
    })
    status.on((s) => { if (s.type === 'closed') this.#shutDown(s.error) })
  }

  get cursor (): number {
    return this.#sequencer.cursor
  }

  /** The open connection's transport; undefined while offline. */
  get transport (): Transport | undefined {
    return this.#connection.transport
  }

  connect (retry: boolean): Promise<void> {
    return this.#connection.start(retry)
  }

  close (): Promise<void> {
    return this.#connection.close()
  }

  /**
   * The app's connectivity event: see Connection.reconnectNow. The network is back, so the next
   * attempt also carries the unconfirmed sends behind its CONNECT (#pipelined).
   */
  reconnectNow (): void {
    this.#linkBack = true
    this.#connection.reconnectNow()
  }

  /** The smoothed round trip of sends, ms (RFC 6298). */
  get srttMs (): number {
    return this.#rtt.srttMs
  }

  /** Queues a send; it is published now if the window allows, or on the next connection. */
  send (request: Omit<SendRequest, 'clientMsgId'>, conversation: Conversation, tries = ID_TRIES): Promise<SendResult> {
    const clientMsgId = newClientMsgId()
    const result = this.#outbox.add(clientMsgIdKey(clientMsgId), clientMsgId, encodeSend({ clientMsgId, ...request }).payload, conversation)
    this.#pump()
    return result.catch((error: unknown) => {
      // A different message of this device already holds the random id (PROTOCOL.md, "Client
      // message ids"): nothing was stored, so the same message goes again under a fresh id.
      if (tries > 1 && error instanceof LowbandError && error.code === ERROR_CODES.CLIENT_MSG_ID_REUSED.code) return this.send(request, conversation, tries - 1)
      throw error
    })
  }

  /**
   * Asks for the inbox after the cursor now rather than when a gap shows. The device that made a
   * group change gets neither a copy nor a stored-ack of the system message announcing it, so
   * that seq would otherwise stay unseen until a later entry opens a gap.
   */
  catchUp (): void {
    if (!this.#options.sendOnly) this.#requestReplay(this.#connection.transport, this.#sequencer.cursor)
  }

  async #opened (transport: Transport): Promise<void> {
    const self = this.#options.userId
    if (this.#outbox.hasEarly) this.#awaitEarly()
    if (this.#options.sendOnly) {
      // Responses too: a send-only device (the CLI's `group` commands) may still make requests.
      const subscribed = Promise.all([ackTopic(self), errorTopic(self), responseTopic(self)].map((topic) => transport.subscribe(topic, 0)))
      this.#pump()
      this.#events.opened(transport)
      await subscribed
      return
    }
    // The resume request went with the CONNECT, and the broker's replay follows the CONNACK; the
    // subscription (kept by a persistent session, needed by a new one) and resends go together
    // now. Should a live message slip between the replay and the subscription, the seq gap it
    // leaves is noticed and replayed (see InboxSequencer).
    const subscribed = transport.subscribe(userSubtree(self), 1)
    this.#sequencer.restart()
    this.#pump()
    this.#events.opened(transport)
    await subscribed
  }

  /**
   * What goes right behind an attempt's CONNECT. The resume: for when this device holds more than
   * the broker's record of it, whose own replay follows the CONNACK unasked (PROTOCOL.md). After
   * the app said the network is back, the queued sends too, as QoS 0 copies, as many as a SYN
   * holds beside the CONNECT (EARLY_BYTES); the broker stores and deduplicates them as any resend,
   * and answers with stored-acks. Not on the attempts of a link not known to be back: those may be
   * lost whole, a second apart.
   */
  #pipelined (): TransportPublish[] {
    this.#outbox.requeueEarly()
    const pipelined: TransportPublish[] = []
    if (!this.#options.sendOnly) pipelined.push({ topic: COMMAND.resume, payload: ResumeRequest.encode({ cursor: this.#sequencer.cursor }) })
    if (this.#linkBack) {
      this.#linkBack = false
      for (const entry of this.#outbox.takeEarly(EARLY_BYTES)) pipelined.push({ topic: sendTopicOf(entry.conversation), payload: entry.payload })
    }
    return pipelined
  }

  /** Early copies get until a send is overdue (the watchdog's bound) for their stored-acks; then QoS 1. */
  #awaitEarly (): void {
    this.#cancelEarlyWait = this.#options.clock.setTimer(this.#rtt.overdueMs(), () => {
      this.#cancelEarlyWait = undefined
      this.#outbox.requeueEarly()
      this.#pump()
    })
  }

  #requestReplay (transport: Transport | undefined, cursor: number): void {
    transport?.publish(COMMAND.resume, ResumeRequest.encode({ cursor }), 1)
      .catch(() => { /* lost with the connection; the next one resumes */ })
  }

  /** Publishes what the outbox window allows on the open connection. */
  #pump (): void {
    const transport = this.#connection.transport
    if (transport === undefined || this.#cancelRatePause !== undefined) return
    const ready = this.#outbox.takeReady(this.#window.size)
    const backlogged = this.#outbox.waiting
    for (const entry of ready) {
      const attempt = entry.attempt
      const ticket = this.#window.sent(backlogged)
      this.#watchdog.track(transport.publish(sendTopicOf(entry.conversation), entry.payload, 1)).then(() => {
        this.#window.acked(ticket)
        this.#outbox.pubacked(entry.key, attempt)
        this.#pump()
      }, () => { /* lost with the connection: the outbox queues it again */ })
    }
  }

  #route (topic: string, payload: Uint8Array): void {
    const where = classifyUserTopic(topic)
    if (where === undefined || where.userId !== this.#options.userId) return
    if (this.#options.sendOnly && where.kind !== 'ack' && where.kind !== 'error' && where.kind !== 'response') return
    try {
      switch (where.kind) {
        case 'inbox':
        case 'echo': {
          const message = InboxMessage.decode(payload)
          return this.#sequencer.accept(message.seq, { type: 'message', message })
        }
        case 'ack': {
          const ack = StoredAck.decode(payload)
          // An early copy's stored-ack frees its place in the window for what waits behind it.
          if (this.#outbox.stored(clientMsgIdKey(ack.clientMsgId), ack)) this.#pump()
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
        case 'typing':
          return this.#events.typing(TypingNotice.decode(payload))
        case 'response':
          return this.#events.response(Response.decode(payload))
        case 'presence':
          return this.#events.presence(where.contact!, PresenceUpdate.decode(payload))
        case 'keys':
          return this.#events.keysLow?.(PreKeysLow.decode(payload))
        default:
          // A topic of a newer broker: ignored, as the protocol's unknown keys are.
          return
      }
    } catch (error) {
      this.#events.error(error instanceof Error ? error : new Error(String(error)))
    }
  }

  #noticed (notice: ErrorNotice): void {
    const key = notice.clientMsgId === undefined ? undefined : clientMsgIdKey(notice.clientMsgId)
    if (key === undefined || !this.#outbox.has(key)) return this.#events.error(errorFromNotice(notice))
    if (notice.code !== ERROR_CODES.RATE_LIMITED.code) return this.#outbox.fail(key, errorFromNotice(notice))
    // Slow down instead of failing: a backlog flushed after a reconnect can hit the rate limit.
    this.#outbox.requeue(key)
    this.#cancelRatePause ??= this.#options.clock.setTimer(this.#options.rateLimitPauseMs, () => {
      this.#cancelRatePause = undefined
      this.#pump()
    })
  }

  #deliver (slot: Exclude<InboxSlot, { type: 'sent' }>): void {
    if (slot.type === 'receipt') return this.#events.receipt(slot.receipt)
    const message = slot.message
    if (message.from === this.#options.userId && message.clientMsgId !== undefined) {
      const key = clientMsgIdKey(message.clientMsgId)
      // This device's own send, replayed before its stored-ack came: it confirms the send, and
      // send() is where the application hears about it.
      if (this.#outbox.has(key)) return this.#outbox.seen(key, { seq: message.seq, cseq: message.cseq, ts: message.ts })
    }
    const chat = toChatMessage(message, this.#options.userId)
    if (!this.#recentIds.add(chat.id)) return
    const shown = this.#events.reveal === undefined ? chat : this.#events.reveal(chat, message)
    if (shown !== undefined) this.#events.message(shown)
  }

  #shutDown (error: Error | undefined): void {
    this.#cancelEarlyWait?.()
    this.#cancelEarlyWait = undefined
    this.#cancelRatePause?.()
    this.#cancelRatePause = undefined
    this.#sequencer.pause()
    this.#outbox.failAll(new ClientClosedError({ cause: error }))
  }
}
