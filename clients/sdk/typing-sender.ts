import { TypingSignal } from '../../protocol/envelopes.js'
import { COMMAND } from '../../protocol/topics.js'
import type { CancelTimer, Clock } from './clock.js'
import { conversationKey, peerOf, type Conversation } from './conversation.js'
import type { Transport } from './transport.js'

/** "typing" is sent at most this often while keys keep coming, ms; the receiver expires one after 5 s. */
export const TYPING_REFRESH_MS = 3000
/** No keystroke for this long sends "stopped", ms. */
export const TYPING_IDLE_MS = 5000

interface Typing {
  readonly conversation: Conversation
  sentAt: number
  cancelIdle: CancelTimer
}

/**
 * This device's typing signals (`c/t`, QoS 0). Called on every keystroke, it sends one "typing"
 * per TYPING_REFRESH_MS — often enough that the receiver's 5 s expiry never fires while typing
 * goes on — and "stopped" on send or after TYPING_IDLE_MS without a keystroke. Offline nothing is
 * sent: a stale "typing" is worse than none.
 */
export class TypingSender {
  readonly #clock: Clock
  readonly #transport: () => Transport | undefined
  readonly #active = new Map<string, Typing>()

  constructor (clock: Clock, transport: () => Transport | undefined) {
    this.#clock = clock
    this.#transport = transport
  }

  keystroke (conversation: Conversation): void {
    const key = conversationKey(conversation)
    const now = this.#clock.now()
    const typing = this.#active.get(key)
    if (typing === undefined) {
      if (this.#signal(conversation, 1)) this.#active.set(key, { conversation, sentAt: now, cancelIdle: this.#idleTimer(conversation) })
      return
    }
    typing.cancelIdle()
    typing.cancelIdle = this.#idleTimer(conversation)
    if (now - typing.sentAt >= TYPING_REFRESH_MS && this.#signal(conversation, 1)) typing.sentAt = now
  }

  /** Sends "stopped" if "typing" was sent. */
  stop (conversation: Conversation): void {
    const key = conversationKey(conversation)
    const typing = this.#active.get(key)
    if (typing === undefined) return
    typing.cancelIdle()
    this.#active.delete(key)
    this.#signal(conversation, 0)
  }

  /** Cancels the timers without a word (the client is closing). */
  clear (): void {
    for (const typing of this.#active.values()) typing.cancelIdle()
    this.#active.clear()
  }

  #idleTimer (conversation: Conversation): CancelTimer {
    return this.#clock.setTimer(TYPING_IDLE_MS, () => this.stop(conversation))
  }

  /** False while offline. */
  #signal (conversation: Conversation, state: 0 | 1): boolean {
    const transport = this.#transport()
    if (transport === undefined) return false
    const { peer, group } = peerOf(conversation)
    transport.publish(COMMAND.typing, TypingSignal.encode({ to: peer, state, ...(group ? { group } : {}) }), 0)
      .catch(() => { /* QoS 0 on a dying link: nothing to retry */ })
    return true
  }
}
