import { decodeGroupDeviceBody, encodeEncryptedBody, FetchBundlesArgs, FetchBundlesResult, Bundle, isEncryptedKind, PublishKeysArgs, RetryRequest, type Copies, type PreKeysLow } from '../../../protocol/e2e.js'
import { KEY_EVENT, KIND, SystemEvent, type Body, type InboxMessage, type SendRequest } from '../../../protocol/envelopes.js'
import { LowbandError } from '../../../protocol/errors.js'
import type { OpName } from '../../../protocol/requests.js'
import { mediaOf, type ChatMessage } from '../chat-message.js'
import type { Conversation } from '../conversation.js'
import { messageId } from '../message-id.js'
import type { SendResult } from '../outbox.js'
import { addPreKeys, currentSignedPreKey, PREKEY_BATCH } from './device-keys.js'
import { decodeDeviceState, encodeDeviceState, MESSAGE_LOG, newDeviceState, type DeviceState } from './device-state.js'
import { GroupKeys } from './group-keys.js'
import { decodeInner, encodeInner, type InnerMessage } from './inner-message.js'
import { addressOf, deviceOfAddress, Pairwise, userOfAddress } from './pairwise.js'
import { safetyNumber } from './safety-number.js'

export interface EndToEndOptions {
  /** The device's state as `save` last got it; absent for a new device, whose keys are made now. */
  state?: Uint8Array
  /** Called with the whole state after every change: the keys and sessions must outlive the process. */
  save?: (state: Uint8Array) => void | Promise<void>
  /** Send in plaintext to a user none of whose devices has keys (NO_KEYS), instead of failing. Default false. */
  plaintextFallback?: boolean
}

/** A contact's device registered a new identity key: the security code with that contact changed. */
export interface IdentityChange {
  readonly user: string
  readonly device: string
}

/** What the end-to-end layer needs from the client around it. */
export interface EndToEndDeps {
  request (op: OpName, args?: Map<number, unknown>): Promise<unknown>
  send (request: Omit<SendRequest, 'clientMsgId'>, conversation: Conversation): Promise<SendResult>
  groupMembers (group: string): Promise<string[]>
  identityChanged (change: IdentityChange): void
  error (error: Error): void
}

/** Attempts of one send when the broker answers that the devices changed (each attempt refreshes the device lists). */
const SEND_ATTEMPTS = 3
const EMPTY = new Uint8Array(0)

/**
 * End-to-end encryption for one device: a message to a user is encrypted once per device of that
 * user and of my own other devices (pairwise Double Ratchet sessions), a group message once under my
 * sender key, and what arrives is decrypted in inbox order before the application sees it. The broker
 * sees only ciphertexts addressed to devices. A message this device cannot decrypt reaches the
 * application marked `undecryptable` (never dropped), and its sender is asked to send it again over a
 * new session (a retry request, kind 5); the resend (kind 6) then reaches the application under the
 * original message's id.
 */
export class EndToEnd {
  readonly #self: { user: string, device: string }
  readonly #state: DeviceState
  readonly #options: EndToEndOptions
  readonly #deps: EndToEndDeps
  readonly #pairwise: Pairwise
  readonly #groups: GroupKeys
  readonly #members = new Map<string, string[]>()
  readonly #retried = new Set<string>()
  #saving: Promise<void> = Promise.resolve()
  #publishing: Promise<void> | undefined

  constructor (self: { user: string, device: string }, options: EndToEndOptions, deps: EndToEndDeps) {
    this.#self = self
    this.#options = options
    this.#deps = deps
    this.#state = options.state === undefined ? newDeviceState() : decodeDeviceState(options.state)
    const fetch = async (user: string, except: string[]): Promise<{ bundles: Bundle[], devices: string[] }> => {
      const result = FetchBundlesResult.fromCbor(await deps.request('fetchBundles', FetchBundlesArgs.toCbor({ user, ...(except.length > 0 ? { except } : {}) })))
      return { bundles: result.bundles.map((b) => Bundle.fromCbor(b)), devices: result.devices }
    }
    this.#pairwise = new Pairwise(this.#state, self, fetch, (address) => deps.identityChanged({ user: userOfAddress(address), device: deviceOfAddress(address) }))
    this.#groups = new GroupKeys(this.#state, addressOf(self.user, self.device))
    if (options.state === undefined) void this.#persist()
  }

  /** This device's identity key (Ed25519). */
  get identityKey (): Uint8Array { return this.#state.keys.identity.publicKey }

  /** Publishes this device's identity, signed prekey and new one-time prekeys, if the directory lacks any. */
  publish (): Promise<void> {
    const keys = this.#state.keys
    if (this.#state.published && keys.unpublished.length === 0) return Promise.resolve()
    this.#publishing ??= (async () => {
      const spk = currentSignedPreKey(keys)
      const preKeys = keys.preKeys.filter(([id]) => keys.unpublished.includes(id)).map(([id, pair]): [number, Uint8Array] => [id, pair.publicKey])
      await this.#deps.request('publishKeys', PublishKeysArgs.toCbor({ identityKey: keys.identity.publicKey, signedPreKeyId: spk.id, signedPreKey: spk.pair.publicKey, signature: spk.signature, preKeys }))
      this.#state.published = true
      const sent = new Set(preKeys.map(([id]) => id))
      keys.unpublished = keys.unpublished.filter((id) => !sent.has(id))
      await this.#persist()
    })().finally(() => { this.#publishing = undefined })
    return this.#publishing
  }

  /** Sends to a user: one copy per device of theirs and of my other devices. */
  async sendDirect (to: string, body: Body, kind: number): Promise<SendResult> {
    await this.publish()
    const plaintext = encodeInner({ kind, body })
    for (let attempt = 1; ; attempt++) {
      let addresses: string[]
      try {
        addresses = await this.#devices([...new Set([to, this.#self.user])], attempt > 1, to)
      } catch (error) {
        if (this.#options.plaintextFallback === true && error instanceof LowbandError && error.errorName === 'NO_KEYS') {
          return this.#deps.send({ to, body, ...(kind === 0 ? {} : { kind }) }, { user: to })
        }
        throw error
      }
      const { copies, announced } = this.#copies(addresses, () => plaintext)
      const result = await this.#attempt({ to, kind: KIND.encrypted, body: encodeEncryptedBody({ copies }) }, { user: to }, attempt)
      if (result === undefined) continue
      for (const confirm of announced) confirm()
      return this.#sent(result, { kind, body })
    }
  }

  /** Sends to a group: one ciphertext under my sender key, which rides along to member devices that lack it. */
  async sendGroup (group: string, body: Body, kind: number): Promise<SendResult> {
    await this.publish()
    for (let attempt = 1; ; attempt++) {
      const members = await this.#groupMembers(group, attempt > 1)
      const addresses = await this.#devices(members, attempt > 1)
      // No other device of any member has keys: as for a user without keys, plaintext if allowed.
      if (addresses.length === 0 && this.#options.plaintextFallback === true) {
        return this.#deps.send({ group, body, ...(kind === 0 ? {} : { kind }) }, { group })
      }
      const own = this.#groups.own(group)
      const needing = addresses.filter((a) => !own.sentTo.includes(a))
      const distribution = needing.length > 0 ? this.#groups.distribution(group) : EMPTY
      const { copies, announced } = this.#copies(needing, () => distribution)
      const shared = this.#groups.encrypt(group, encodeInner({ kind, body }))
      const result = await this.#attempt({ group, kind: KIND.encryptedGroup, body: encodeEncryptedBody({ copies, shared }) }, { group }, attempt)
      if (result === undefined) continue
      for (const confirm of announced) confirm()
      this.#groups.given(group, own.key, needing)
      return this.#sent(result, { kind, body })
    }
  }

  /**
   * What the application sees of an inbox message: decrypted (or marked `undecryptable`), or
   * undefined for the encryption's own traffic (retry requests, resends meant for other devices).
   * Called in inbox order, once per message.
   */
  reveal (chat: ChatMessage, wire: InboxMessage): ChatMessage | undefined {
    const kind = wire.kind ?? KIND.text
    if (kind === KIND.retryRequest) {
      if (!chat.own) this.#resendRequested(wire)
      return undefined
    }
    if (kind === KIND.system && wire.group === undefined) return this.#keyEvent(chat)
    if (!isEncryptedKind(kind)) return chat
    const body = wire.body instanceof Uint8Array ? wire.body : EMPTY
    if (kind === KIND.resend) return body.length === 0 ? undefined : this.#resent(chat, wire, body)
    const logged = this.#logged(chat.id)
    if (logged !== undefined) return revealed(chat, logged)
    const sender = addressOf(wire.from, wire.device ?? '')
    try {
      const inner = kind === KIND.encrypted ? decodeInner(this.#openCopy(sender, body)) : this.#openGroup(chat.group!, sender, body)
      this.#remember(chat.id, inner)
      void this.#persist()
      return revealed(chat, inner)
    } catch (error) {
      const cause = error instanceof Error ? error.message : String(error)
      // A copy this device cannot open: ask for it again. No copy at all: the message was sent before
      // this device had keys, and a new device gets no history.
      if (body.length > 0 && sender !== addressOf(this.#self.user, this.#self.device)) this.#requestResend(chat, wire)
      return { ...chat, encrypted: true, undecryptable: new LowbandError('UNDECRYPTABLE', cause) }
    }
  }

  /** A group changed: a member who left or was removed never gets my next sender key. */
  groupChanged (group: string, event: string): void {
    this.#members.delete(group)
    if (event === 'removed' || event === 'left') {
      this.#groups.rotate(group)
      void this.#persist()
    }
  }

  /** The broker says a device of mine is low on one-time prekeys: if it is this one, make and publish more. */
  preKeysLow (notice: PreKeysLow): void {
    if (notice.device !== this.#self.device) return
    addPreKeys(this.#state.keys, PREKEY_BATCH)
    this.publish().catch((error: unknown) => this.#deps.error(error instanceof Error ? error : new Error(String(error))))
  }

  /** The safety number with `user`: 60 digits, the same on both sides when both know the same devices. */
  async safetyNumber (user: string): Promise<string> {
    await this.#devices([user, this.#self.user], false, user)
    const mine = [this.identityKey, ...this.#pairwise.identityKeys(this.#self.user)]
    return safetyNumber({ user: this.#self.user, identityKeys: mine }, { user, identityKeys: this.#pairwise.identityKeys(user) })
  }

  /** Resolves once every state change so far was handed to `save`. */
  saved (): Promise<void> {
    return this.#saving
  }

  async #devices (users: string[], refresh: boolean, required?: string): Promise<string[]> {
    const addresses: string[] = []
    for (const user of users) {
      try {
        addresses.push(...await this.#pairwise.devicesOf(user, refresh))
      } catch (error) {
        // A member without keys cannot read; only the one addressed must have them.
        if (user === required || !(error instanceof LowbandError && error.errorName === 'NO_KEYS')) throw error
      }
    }
    return addresses
  }

  #copies (addresses: string[], plaintext: () => Uint8Array): { copies: Copies, announced: Array<() => void> } {
    const copies: Copies = new Map()
    const announced: Array<() => void> = []
    for (const address of addresses) {
      const { bytes, announced: confirm } = this.#pairwise.encrypt(address, plaintext())
      const user = userOfAddress(address)
      if (!copies.has(user)) copies.set(user, new Map())
      copies.get(user)!.set(deviceOfAddress(address), bytes)
      if (confirm !== undefined) announced.push(confirm)
    }
    return { copies, announced }
  }

  /** One send attempt, the state saved first (a crash must not reuse a message key); undefined when the devices changed and another attempt may follow. */
  async #attempt (request: Omit<SendRequest, 'clientMsgId'>, conversation: Conversation, attempt: number): Promise<SendResult | undefined> {
    await this.#persist()
    try {
      return await this.#deps.send(request, conversation)
    } catch (error) {
      if (attempt < SEND_ATTEMPTS && error instanceof LowbandError && error.errorName === 'DEVICES_CHANGED') return undefined
      throw error
    }
  }

  /** A send is stored: its plaintext joins the log (saved in the background: see saved()), and send() resolves at once, as a plaintext one. */
  #sent (result: SendResult, inner: InnerMessage): SendResult {
    this.#remember(result.id, inner)
    void this.#persist()
    return result
  }

  #openCopy (sender: string, copy: Uint8Array): Uint8Array {
    if (copy.length === 0) throw new LowbandError('UNDECRYPTABLE', 'the message holds no copy for this device')
    return this.#pairwise.decrypt(sender, copy)
  }

  #openGroup (group: string, sender: string, body: Uint8Array): InnerMessage {
    const { shared, copy } = decodeGroupDeviceBody(body)
    if (copy !== undefined) this.#groups.accept(group, sender, this.#pairwise.decrypt(sender, copy))
    return decodeInner(this.#groups.decrypt(group, sender, shared))
  }

  /** Asks the sending device, once per message, to send it again over a new session. */
  #requestResend (chat: ChatMessage, wire: InboxMessage): void {
    if (wire.device === undefined || this.#retried.has(chat.id)) return
    this.#retried.add(chat.id)
    const body = RetryRequest.encode({ device: this.#self.device, to: wire.device, cseq: chat.cseq, ...(chat.group === undefined ? {} : { group: chat.group }) })
    this.#deps.send({ to: wire.from, kind: KIND.retryRequest, body }, { user: wire.from })
      .catch((error: unknown) => this.#deps.error(error instanceof Error ? error : new Error(String(error))))
  }

  /** Another device could not decrypt one of my messages: a fresh session with it, and the message again. */
  #resendRequested (wire: InboxMessage): void {
    let request: RetryRequest
    try {
      request = RetryRequest.decode(wire.body as Uint8Array)
    } catch {
      return
    }
    if (request.to !== this.#self.device) return
    const requester = wire.from
    const conversation: Conversation = request.group === undefined ? { user: requester } : { group: request.group }
    const logged = this.#logged(messageId(this.#self.user, conversation, request.cseq))
    if (logged === undefined) return this.#deps.error(new LowbandError('UNDECRYPTABLE', `${requester}/${request.device} asked for message ${request.cseq} again, which this device no longer has`))
    const address = addressOf(requester, request.device)
    this.#pairwise.forget(address)
    void (async () => {
      const members = request.group === undefined ? [] : await this.#groupMembers(request.group, true)
      const senderKey = request.group !== undefined && members.includes(requester) ? this.#groups.distribution(request.group) : undefined
      await this.#pairwise.devicesOf(requester, true)
      const inner = encodeInner({ ...logged, resendOf: { cseq: request.cseq, ...(request.group === undefined ? {} : { group: request.group }), ...(senderKey === undefined ? {} : { senderKey }) } })
      const { copies, announced } = this.#copies([address], () => inner)
      await this.#persist()
      await this.#deps.send({ to: requester, kind: KIND.resend, body: encodeEncryptedBody({ copies }) }, { user: requester })
      for (const confirm of announced) confirm()
      if (senderKey !== undefined) this.#groups.given(request.group!, this.#groups.own(request.group!).key, [address])
      await this.#persist()
    })().catch((error: unknown) => this.#deps.error(error instanceof Error ? error : new Error(String(error))))
  }

  /** A resend for this device: the original message, under its own id. */
  #resent (chat: ChatMessage, wire: InboxMessage, body: Uint8Array): ChatMessage | undefined {
    let inner: InnerMessage
    try {
      inner = decodeInner(this.#openCopy(addressOf(wire.from, wire.device ?? ''), body))
    } catch (error) {
      this.#deps.error(error instanceof Error ? error : new Error(String(error)))
      return undefined
    }
    const original = inner.resendOf
    if (original === undefined) return revealed(chat, inner)
    if (original.group !== undefined && original.senderKey !== undefined) this.#groups.accept(original.group, addressOf(wire.from, wire.device!), original.senderKey)
    const conversation: Conversation = original.group === undefined ? { user: wire.from } : { group: original.group }
    const id = messageId(this.#self.user, conversation, original.cseq)
    this.#remember(id, inner)
    void this.#persist()
    const where = original.group === undefined ? { to: this.#self.user } : { to: original.group, group: original.group }
    const { group: _group, ...rest } = chat
    return revealed({ ...rest, ...where, id, conversation, cseq: original.cseq, resent: true }, inner)
  }

  /** A 1:1 system message: a contact's device has a new identity key. Its sessions go; the application is told. */
  #keyEvent (chat: ChatMessage): ChatMessage {
    if (!(chat.body instanceof Uint8Array)) return chat
    let event: SystemEvent
    try {
      event = SystemEvent.decode(chat.body)
    } catch {
      return chat
    }
    if (event.event !== KEY_EVENT.keyChanged) return chat
    const device = event.targets?.[0] ?? ''
    if (event.actor === this.#self.user && device === this.#self.device) return { ...chat, keyChange: { user: event.actor, device } }
    this.#pairwise.forget(addressOf(event.actor, device))
    this.#pairwise.forgetDevices(event.actor)
    void this.#persist()
    this.#deps.identityChanged({ user: event.actor, device })
    return { ...chat, keyChange: { user: event.actor, device } }
  }

  async #groupMembers (group: string, refresh: boolean): Promise<string[]> {
    const known = this.#members.get(group)
    if (known !== undefined && !refresh) return known
    const members = await this.#deps.groupMembers(group)
    this.#members.set(group, members)
    return members
  }

  #remember (id: string, inner: InnerMessage): void {
    const log = this.#state.log
    const index = log.findIndex(([logged]) => logged === id)
    if (index >= 0) log.splice(index, 1)
    log.push([id, [inner.kind, inner.body]])
    if (log.length > MESSAGE_LOG) log.splice(0, log.length - MESSAGE_LOG)
  }

  #logged (id: string): InnerMessage | undefined {
    const entry = this.#state.log.find(([logged]) => logged === id)
    return entry === undefined ? undefined : { kind: entry[1][0], body: entry[1][1] }
  }

  #persist (): Promise<void> {
    const save = this.#options.save
    if (save === undefined) return this.#saving
    this.#saving = this.#saving.then(() => save(encodeDeviceState(this.#state))).catch((error: unknown) => {
      this.#deps.error(error instanceof Error ? error : new Error(String(error)))
    })
    return this.#saving
  }
}

/** The application's view of a decrypted message: its real kind and body. */
function revealed (chat: ChatMessage, inner: InnerMessage): ChatMessage {
  const { text: _text, media: _media, ...rest } = chat
  const media = inner.kind === KIND.media ? mediaOf(inner.body) : undefined
  return {
    ...rest,
    kind: inner.kind,
    body: inner.body,
    ...(typeof inner.body === 'string' ? { text: inner.body } : {}),
    ...(media === undefined ? {} : { media }),
    encrypted: true
  }
}
