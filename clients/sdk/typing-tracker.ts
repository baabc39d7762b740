import type { TypingNotice } from '../../protocol/envelopes.js'
import type { CancelTimer, Clock } from './clock.js'
import { conversationKey, type Conversation } from './conversation.js'

/** A "typing" not refreshed for this long has ended, ms: its "stopped" may never come (QoS 0, lost links). */
export const TYPING_EXPIRY_MS = 5000

/** Someone started or stopped typing in a conversation. */
export interface TypingChange {
  readonly conversation: Conversation
  readonly from: string
  readonly typing: boolean
}

interface Typist {
  readonly conversation: Conversation
  readonly from: string
  cancelExpiry: CancelTimer
}

/**
 * Who is typing where, from the typing notices this user receives. A notice starts (or refreshes)
 * a typist; "stopped", a message from that typist in that conversation, or TYPING_EXPIRY_MS of
 * silence ends it. Changes are reported once each: start, then stop.
 */
export class TypingTracker {
  readonly #clock: Clock
  readonly #changed: (change: TypingChange) => void
  readonly #typists = new Map<string, Typist>()

  constructor (clock: Clock, changed: (change: TypingChange) => void) {
    this.#clock = clock
    this.#changed = changed
  }

  /** Users typing in the conversation now. */
  typingIn (conversation: Conversation): string[] {
    const prefix = `${conversationKey(conversation)}\n`
    return [...this.#typists].filter(([key]) => key.startsWith(prefix)).map(([, typist]) => typist.from)
  }

  notice (notice: TypingNotice): void {
    const conversation: Conversation = notice.group === undefined ? { user: notice.from } : { group: notice.group }
    if (notice.state === 0) return this.stopped(conversation, notice.from)
    const key = keyOf(conversation, notice.from)
    const typist = this.#typists.get(key)
    if (typist !== undefined) {
      typist.cancelExpiry()
      typist.cancelExpiry = this.#expiry(conversation, notice.from)
      return
    }
    this.#typists.set(key, { conversation, from: notice.from, cancelExpiry: this.#expiry(conversation, notice.from) })
    this.#changed({ conversation, from: notice.from, typing: true })
  }

  /** A "stopped", an expiry, or a message from the typist. */
  stopped (conversation: Conversation, from: string): void {
    const key = keyOf(conversation, from)
    const typist = this.#typists.get(key)
    if (typist === undefined) return
    typist.cancelExpiry()
    this.#typists.delete(key)
    this.#changed({ conversation, from, typing: false })
  }

  clear (): void {
    for (const typist of this.#typists.values()) typist.cancelExpiry()
    this.#typists.clear()
  }

  #expiry (conversation: Conversation, from: string): CancelTimer {
    return this.#clock.setTimer(TYPING_EXPIRY_MS, () => this.stopped(conversation, from))
  }
}

/** A newline cannot occur in an id, so it separates the parts of the key. */
function keyOf (conversation: Conversation, from: string): string {
  return `${conversationKey(conversation)}\n${from}`
}
