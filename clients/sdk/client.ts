import { isSystemKind, KIND, type Body, type Receipt } from '../../protocol/envelopes.js'
import { MediaRef } from '../../protocol/media.js'
import { LowbandError } from '../../protocol/errors.js'
import { isValidId } from '../../protocol/ids.js'
import { mediaOf, toChatReceipt, type ChatMessage, type ChatReceipt } from './chat-message.js'
import { Contacts, type PresencePrivacy } from './contacts.js'
import { toConversation, type Conversation, type ConversationRef } from './conversation.js'
import { ClientClosedError } from './errors.js'
import type { GroupEvent } from './group-events.js'
import { GroupOps, type GroupInfo } from './groups.js'
import { fetchHistory, type HistoryResult } from './history.js'
import { Listeners, type Unsubscribe } from './listeners.js'
import { MediaTransfer, type MediaOptions } from './media.js'
import { MessageStatuses, type MessageStatus, type MessageStatusChange } from './message-status.js'
import { resolveOptions, type ClientOptions, type ResolvedOptions } from './options.js'
import type { SendResult } from './outbox.js'
import { PresenceWatcher, type Presence } from './presence.js'
import { PushOps, type PushPlatform, type PushRegistration } from './push.js'
import { ReadState, type UnreadChange } from './read-state.js'
import { Requests } from './requests.js'
import { Session } from './session.js'
import { StatusStream, type Status } from './status.js'
import { TypingSender } from './typing-sender.js'
import { TypingTracker, type TypingChange } from './typing-tracker.js'
import { EndToEnd, type IdentityChange } from './crypto/end-to-end.js'
import { formatSafetyNumber } from './crypto/safety-number.js'

export interface SendOptions {
  /** 0 text (default), 1 media, 2 system; see KIND in the protocol. */
  kind?: number
}

/** What sendMedia() resolves with: the stored message, and the MediaRef it carries. */
export interface MediaSendResult extends SendResult {
  readonly media: MediaRef
}

/** A message whose media downloadMedia() fetches: a ChatMessage, or a history entry with its conversation. */
export interface MediaMessage {
  readonly conversation: Conversation
  readonly cseq: number
  readonly body: Body
}

/**
 * One device of one user. Messages arrive through onMessage in inbox order, once each; the cursor
 * (the last seq delivered) is reported through onCursor for the caller to persist and pass back
 * as `cursor` next time. Sends are kept in an outbox and resent with the same client id after a
 * reconnect until the broker says stored (the broker deduplicates resends).
 *
 * This class only composes: the session (connection, inbox order, outbox) and one module per
 * feature (statuses, reading, presence, typing, requests, groups). Register handlers before
 * connect(): the replay of missed messages starts right after it.
 */
export class LowbandClient {
  readonly #options: ResolvedOptions
  readonly #status: StatusStream
  readonly #session: Session
  readonly #errors = new Listeners<Error>()
  readonly #messages: Listeners<ChatMessage>
  readonly #receipts: Listeners<ChatReceipt>
  readonly #cursors: Listeners<number>
  readonly #syncs: Listeners<number>
  readonly #groupEvents: Listeners<GroupEvent>
  readonly #statusChanges: Listeners<MessageStatusChange>
  readonly #unreadChanges: Listeners<UnreadChange>
  readonly #presenceChanges: Listeners<Presence>
  readonly #typingChanges: Listeners<TypingChange>
  readonly #identityChanges: Listeners<IdentityChange>
  readonly #e2e: EndToEnd | undefined
  readonly #statuses: MessageStatuses
  readonly #reads: ReadState
  readonly #presence: PresenceWatcher
  readonly #typingOut: TypingSender
  readonly #typingIn: TypingTracker
  readonly #requests: Requests
  readonly #groups: GroupOps
  readonly #contacts: Contacts
  readonly #media: MediaTransfer
  readonly #push: PushOps
  readonly #firstSync: Promise<number>
  #resolveFirstSync: (head: number) => void = () => {}
  #started = false

  constructor (options: ClientOptions) {
    const o = this.#options = resolveOptions(options)
    const report = (error: unknown): void => this.#errors.emit(error instanceof Error ? error : new Error(String(error)))
    this.#status = new StatusStream(report)
    this.#messages = new Listeners(report)
    this.#receipts = new Listeners(report)
    this.#cursors = new Listeners(report)
    this.#syncs = new Listeners(report)
    this.#groupEvents = new Listeners(report)
    this.#statusChanges = new Listeners(report)
    this.#unreadChanges = new Listeners(report)
    this.#presenceChanges = new Listeners(report)
    this.#typingChanges = new Listeners(report)
    this.#identityChanges = new Listeners(report)
    const transport = () => this.#session.transport
    this.#statuses = new MessageStatuses(o.trackedMessages, (change) => this.#statusChanges.emit(change))
    this.#reads = new ReadState(transport, (change) => this.#unreadChanges.emit(change))
    this.#presence = new PresenceWatcher(o.userId, transport, (presence) => this.#presenceChanges.emit(presence), report)
    this.#typingOut = new TypingSender(o.clock, transport)
    this.#typingIn = new TypingTracker(o.clock, (change) => this.#typingChanges.emit(change))
    this.#requests = new Requests(o.clock, o.requestTimeoutMs, transport)
    this.#groups = new GroupOps(this.#requests, () => this.#session.catchUp())
    this.#contacts = new Contacts(this.#requests)
    this.#media = new MediaTransfer(this.#requests, { fetch: o.fetch, clock: o.clock, random: o.random, backoff: o.backoff, attempts: o.mediaAttempts })
    this.#push = new PushOps(this.#requests)
    this.#e2e = options.e2e === undefined
      ? undefined
      : new EndToEnd({ user: o.userId, device: o.deviceId }, options.e2e, {
        request: (op, args) => this.#requests.request(op, args),
        send: (request, conversation) => this.#session.send(request, conversation),
        groupMembers: async (group) => (await this.#groups.info(group)).members,
        identityChanged: (change) => this.#identityChanges.emit(change),
        error: report
      })
    this.#session = new Session(o, this.#status, {
      message: (message) => this.#received(message),
      receipt: (receipt) => this.#receipted(receipt),
      stored: (conversation, result) => { this.#statuses.track(result.id, conversation, result.cseq, 'sent', true) },
      cursor: (cursor) => this.#cursors.emit(cursor),
      caughtUp: (cursor) => {
        this.#resolveFirstSync(cursor)
        this.#syncs.emit(cursor)
      },
      typing: (notice) => this.#typingIn.notice(notice),
      response: (response) => this.#requests.response(response),
      presence: (contact, update) => this.#presence.update(contact, update),
      opened: (open) => {
        this.#presence.opened(open)
        this.#reads.opened(open)
        this.#requests.opened(open)
        this.#e2e?.publish().catch(report)
      },
      error: report,
      ...(this.#e2e === undefined ? {} : { reveal: (chat, wire) => this.#e2e!.reveal(chat, wire), keysLow: (notice) => this.#e2e!.preKeysLow(notice) })
    })
    this.#firstSync = new Promise<number>((resolve, reject) => {
      this.#resolveFirstSync = resolve
      this.#status.on((status) => { if (status.type === 'closed') reject(new ClientClosedError({ cause: status.error })) })
    })
    // Nobody may be waiting on synced(); its rejection at close must not be "unhandled".
    this.#firstSync.catch(() => {})
    this.#status.on((status) => {
      if (status.type !== 'closed') return
      this.#typingOut.clear()
      this.#typingIn.clear()
      this.#requests.failAll(new ClientClosedError({ cause: status.error }))
    })
  }

  get userId (): string { return this.#options.userId }
  get deviceId (): string { return this.#options.deviceId }
  /** The last inbox seq delivered (or passed by one of this device's own sends). */
  get cursor (): number { return this.#session.cursor }
  /** The connection status (see messageStatus() for a message's). */
  get status (): Status { return this.#status.current }

  /**
   * Starts connecting; resolves once connected (subscribed; resume and outbox sent). By default
   * a failing first attempt rejects and closes the client (right for a CLI); with `retry` it is
   * retried with backoff like any reconnect (right for an app that may start offline).
   */
  connect (options: { retry?: boolean } = {}): Promise<void> {
    if (this.#status.current.type === 'closed') return Promise.reject(new ClientClosedError())
    this.#started = true
    return this.#session.connect(options.retry === true)
  }

  /**
   * Sends a message; resolves once the broker has stored it (PUBACK and stored-ack), rejects with a
   * LowbandError carrying the broker's code. Offline, it waits in the outbox for the next connection.
   */
  async send (to: string, body: Body, options: SendOptions = {}): Promise<SendResult> {
    if (!isValidId(to)) throw new LowbandError('BAD_ENVELOPE', `to: not a user id: ${JSON.stringify(to)}`)
    const { kind } = kindOf(body, options)
    if (this.#e2e !== undefined) return this.#encrypted({ user: to }, () => this.#e2e!.sendDirect(to, body, kind ?? 0))
    return this.#send({ to, body, ...(kind === undefined ? {} : { kind }) }, { user: to })
  }

  /** Sends to a group this user is a member of; like send(), a non-member's send rejects (NOT_MEMBER). */
  async sendToGroup (group: string, body: Body, options: SendOptions = {}): Promise<SendResult> {
    if (!isValidId(group)) throw new LowbandError('BAD_ENVELOPE', `group: not a group id: ${JSON.stringify(group)}`)
    const { kind } = kindOf(body, options)
    if (this.#e2e !== undefined) return this.#encrypted({ group }, () => this.#e2e!.sendGroup(group, body, kind ?? 0))
    return this.#send({ group, body, ...(kind === undefined ? {} : { kind }) }, { group })
  }

  /**
   * The safety number ("security code") of this user and `user`, as twelve groups of five digits:
   * the same on both sides when both know the same devices. Compare it in person to rule out a
   * man in the middle. Needs end-to-end encryption (the `e2e` option).
   */
  async safetyNumber (user: string): Promise<string> {
    this.#checkOpen()
    if (this.#e2e === undefined) throw new LowbandError('NO_KEYS', 'this client has no end-to-end encryption (the e2e option)')
    return formatSafetyNumber(await this.#e2e.safetyNumber(userId(user)))
  }

  /**
   * Publishes this device's keys to the key directory if it lacks them (done by itself on every
   * connection; await it before others fetch this device's keys).
   */
  async publishKeys (): Promise<void> {
    this.#checkOpen()
    await this.#e2e?.publish()
  }

  /** Resolves once every end-to-end state change so far was handed to the e2e `save` callback. */
  async keysSaved (): Promise<void> {
    await this.#e2e?.saved()
  }

  /**
   * Sends a photo, voice note or file: uploads `bytes` straight to object storage (in parts when
   * large, resuming after a broken connection), then sends a media message (kind 1) referencing
   * it. Resolves once the message is stored; the broker first checks that the object is there.
   */
  async sendMedia (to: ConversationRef, bytes: Uint8Array, options: MediaOptions): Promise<MediaSendResult> {
    const conversation = toConversation(to)
    this.#checkOpen()
    const media = await this.#media.upload(bytes, options)
    const body = MediaRef.encode(media)
    const result = await ('group' in conversation ? this.sendToGroup(conversation.group, body, { kind: KIND.media }) : this.send(conversation.user, body, { kind: KIND.media }))
    return { ...result, media }
  }

  /**
   * The blob of a media message, checked against its sha256 (a mismatch rejects with MEDIA_CORRUPT
   * and nothing is kept). Only members of the message's conversation may download it.
   */
  async downloadMedia (message: MediaMessage): Promise<Uint8Array> {
    this.#checkOpen()
    const media = mediaOf(message.body)
    if (media === undefined) throw new LowbandError('MEDIA_MISSING', 'not a media message')
    return this.#media.download(message.conversation, message.cseq, media)
  }

  /** The status of one of my messages (sent, then delivered, then read); undefined if not tracked. */
  messageStatus (messageId: string): MessageStatus | undefined { return this.#statuses.status(messageId) }

  /**
   * I have read `conversation` up to `cseq`: sends the read watermark (now, or on the next
   * connection). False, and nothing sent, when it does not move past the last one sent or learnt.
   */
  markRead (conversation: ConversationRef, cseq: number): boolean {
    if (!Number.isSafeInteger(cseq) || cseq < 1) throw new LowbandError('BAD_ENVELOPE', `cseq: a whole number >= 1, got ${cseq}`)
    return this.#reads.markRead(toConversation(conversation), cseq)
  }

  /** Messages of others after my read watermark in that conversation, as seen by this device. */
  unread (conversation: ConversationRef): number { return this.#reads.unread(toConversation(conversation)) }

  /** Starts watching a contact's presence (open chat); the current state comes at once through onPresence. */
  watch (contact: string): void { this.#presence.watch(userId(contact)) }
  unwatch (contact: string): void { this.#presence.unwatch(userId(contact)) }
  /** The last presence heard of a watched contact. */
  presence (contact: string): Presence | undefined { return this.#presence.presence(contact) }

  /** Call on every keystroke: sends "typing" at most every 3 s, and "stopped" after 5 s without one. */
  typing (conversation: ConversationRef): void { this.#typingOut.keystroke(toConversation(conversation)) }
  /** Sends "stopped" now, if "typing" was sent (send() does this by itself). */
  stopTyping (conversation: ConversationRef): void { this.#typingOut.stop(toConversation(conversation)) }
  /** Who is typing in the conversation now. */
  typingIn (conversation: ConversationRef): string[] { return this.#typingIn.typingIn(toConversation(conversation)) }

  /** A page of the conversation, oldest first, up to `limit` (default 50, at most 100) messages before cseq `before`. */
  async history (conversation: ConversationRef, before?: number, limit?: number): Promise<HistoryResult> {
    this.#checkOpen()
    return fetchHistory(this.#requests, this.#statuses, this.#options.userId, toConversation(conversation), before, limit)
  }

  async createGroup (name: string, members: readonly string[] = []): Promise<GroupInfo> { return this.#whileOpen(this.#groups).create(name, members) }
  async addMembers (group: string, users: readonly string[]): Promise<GroupInfo> { return this.#whileOpen(this.#groups).addMembers(group, users) }
  async removeMember (group: string, user: string): Promise<GroupInfo> { return this.#whileOpen(this.#groups).removeMember(group, user) }
  async promote (group: string, user: string): Promise<GroupInfo> { return this.#whileOpen(this.#groups).promote(group, user) }
  async demote (group: string, user: string): Promise<GroupInfo> { return this.#whileOpen(this.#groups).demote(group, user) }
  async rename (group: string, name: string): Promise<GroupInfo> { return this.#whileOpen(this.#groups).rename(group, name) }
  async leave (group: string): Promise<void> { return this.#whileOpen(this.#groups).leave(group) }
  async groupInfo (group: string): Promise<GroupInfo> { return this.#whileOpen(this.#groups).info(group) }
  async listGroups (): Promise<GroupInfo[]> { return this.#whileOpen(this.#groups).list() }

  /** Who may see my online state and last seen: everyone, my contacts, or nobody. */
  async setPresencePrivacy (who: PresencePrivacy): Promise<void> { return this.#whileOpen(this.#contacts).setPresencePrivacy(who) }
  async addContact (user: string): Promise<void> { return this.#whileOpen(this.#contacts).add(user) }
  async removeContact (user: string): Promise<void> { return this.#whileOpen(this.#contacts).remove(user) }

  /**
   * Registers this device's push token (from FCM; on iOS the FCM token of the APNs device), so a
   * message that arrives while the app sleeps wakes it with a data-only push. Call it whenever the
   * platform hands the app a new token; re-registering replaces the old one.
   */
  async registerPush (token: string, platform: PushPlatform = 'android'): Promise<void> { return this.#whileOpen(this.#push).register(token, platform) }
  /** No more pushes to this device (sign-out). */
  async unregisterPush (): Promise<void> { return this.#whileOpen(this.#push).unregister() }
  /** This user's devices that have a push token. */
  async pushRegistrations (): Promise<PushRegistration[]> { return this.#whileOpen(this.#push).list() }

  /** Every message of the inbox, group system messages included (with `system` decoded). */
  onMessage (handler: (message: ChatMessage) => void): Unsubscribe { return this.#messages.add(handler) }
  /** Delivered and read receipts, in inbox order with the messages. */
  onReceipt (handler: (receipt: ChatReceipt) => void): Unsubscribe { return this.#receipts.add(handler) }
  /** One of my messages moved: sent (✓), delivered (✓✓), read. */
  onMessageStatus (handler: (change: MessageStatusChange) => void): Unsubscribe { return this.#statusChanges.add(handler) }
  onUnread (handler: (change: UnreadChange) => void): Unsubscribe { return this.#unreadChanges.add(handler) }
  onPresence (handler: (presence: Presence) => void): Unsubscribe { return this.#presenceChanges.add(handler) }
  onTyping (handler: (change: TypingChange) => void): Unsubscribe { return this.#typingChanges.add(handler) }
  /** A contact's device has a new identity key: the security code changed (compare it again with safetyNumber()). */
  onIdentityChange (handler: (change: IdentityChange) => void): Unsubscribe { return this.#identityChanges.add(handler) }
  /** A group's system messages: "alice added bob". They reach onMessage too. */
  onGroupEvent (handler: (event: GroupEvent) => void): Unsubscribe { return this.#groupEvents.add(handler) }
  /** The cursor moved; it is called right after the message at that seq went to onMessage. */
  onCursor (handler: (cursor: number) => void): Unsubscribe { return this.#cursors.add(handler) }
  /** Caught up with the inbox head announced after each (re)connect's replay. */
  onSynced (handler: (cursor: number) => void): Unsubscribe { return this.#syncs.add(handler) }
  /** Errors not tied to one send or request: broker notices, undecodable payloads, throwing handlers. */
  onError (handler: (error: Error) => void): Unsubscribe { return this.#errors.add(handler) }
  /** Connection status changes. */
  onStatus (handler: (status: Status) => void): Unsubscribe { return this.#status.on(handler) }

  /** The status changes from now on, as an async iterable; it ends with `closed`. */
  statuses (): AsyncIterableIterator<Status> { return this.#status.iterate() }

  /** Resolves with the cursor once the first replay has caught up (never for `sendOnly`); rejects if the client closes first. */
  synced (): Promise<number> { return this.#firstSync }

  /**
   * Drops the connection and connects again at once, or cuts a backoff delay short. Call it from
   * the platform's connectivity-change event (the network is back, or changed): the old socket
   * would otherwise wait out TCP's retransmission backoff. Unacknowledged sends go again on the
   * new connection (the broker deduplicates them). Does nothing before connect() or after close().
   */
  reconnectNow (): void {
    if (this.#started) this.#session.reconnectNow()
  }

  /** Disconnects for good. Sends and requests still waiting reject with ClientClosedError. */
  async close (): Promise<void> {
    if (this.#status.current.type === 'closed') return
    if (this.#started) await this.#session.close()
    else this.#status.set({ type: 'closed' })
  }

  #encrypted (conversation: Parameters<Session['send']>[1], send: () => Promise<SendResult>): Promise<SendResult> {
    this.#checkOpen()
    this.#typingOut.stop(conversation)
    return send()
  }

  #send (request: Parameters<Session['send']>[0], conversation: Parameters<Session['send']>[1]): Promise<SendResult> {
    this.#checkOpen()
    this.#typingOut.stop(conversation)
    return this.#session.send(request, conversation)
  }

  #received (chat: ChatMessage): void {
    const system = chat.kind === KIND.system
    if (chat.own) {
      if (!system) this.#statuses.track(chat.id, chat.conversation, chat.cseq, 'sent', true)
    } else {
      this.#typingIn.stopped(chat.conversation, chat.from)
      if (!system) this.#reads.incoming(chat.conversation, chat.cseq)
    }
    this.#messages.emit(chat)
    if (chat.system !== undefined && chat.group !== undefined) {
      this.#e2e?.groupChanged(chat.group, chat.system.event)
      this.#groupEvents.emit({ ...chat.system, group: chat.group, id: chat.id, seq: chat.seq, cseq: chat.cseq, ts: chat.ts })
    }
  }

  #receipted (receipt: Receipt): void {
    const chat = toChatReceipt(receipt)
    if (chat.status === 'readByMe') this.#reads.learnt(chat.conversation, chat.cseq)
    else this.#statuses.reached(chat.conversation, chat.status, chat.cseq)
    this.#receipts.emit(chat)
  }

  #checkOpen (): void {
    if (this.#status.current.type === 'closed') throw new ClientClosedError()
  }

  /** `feature`, unless the client is closed (ClientClosedError): for one-line delegation. */
  #whileOpen<T> (feature: T): T {
    this.#checkOpen()
    return feature
  }
}

function kindOf (body: Body, options: SendOptions): { kind?: number } {
  if (typeof body !== 'string' && !(body instanceof Uint8Array)) throw new LowbandError('BAD_ENVELOPE', 'body: a string or bytes')
  const kind = options.kind ?? 0
  if (!Number.isInteger(kind) || kind < 0 || kind > 255) throw new LowbandError('BAD_ENVELOPE', `kind: 0-255, got ${kind}`)
  // The broker would refuse it: only it speaks for the system.
  if (isSystemKind(kind)) throw new LowbandError('FORBIDDEN_KIND', `kind ${kind}`)
  return kind === 0 ? {} : { kind }
}

function userId (contact: string): string {
  if (typeof contact !== 'string' || !isValidId(contact)) throw new LowbandError('BAD_ENVELOPE', `not a user id: ${JSON.stringify(contact)}`)
  return contact
}
