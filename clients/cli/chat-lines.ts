import type { MessageStatus, MessageStatusChange, Presence, SendResult } from '../sdk/index.js'
import { clockTime } from './format.js'

const MARK: Readonly<Record<MessageStatus, string>> = { sent: '✓', delivered: '✓✓', read: '✓✓ read' }
const RANK: Readonly<Record<MessageStatus, number>> = { sent: 0, delivered: 1, read: 2 }

/**
 * My messages on the chat screen: one line when stored (`[14:03] me: hi ✓`), then one line per
 * step (`-- ✓✓ delivered: "hi"`, `-- ✓✓ read: "hi"`). A step can be reported before send()
 * resolves; it is kept and shown on the message's own line instead.
 */
export class OwnMessages {
  readonly #texts = new Map<string, string>()
  readonly #early = new Map<string, MessageStatus>()

  /** A message of mine shown from the conversation (sent from another device, or earlier). */
  remember (id: string, text: string): void {
    this.#texts.set(id, text)
  }

  /** The line for a message this chat sent, once stored. */
  sent (result: SendResult, text: string): string {
    this.#texts.set(result.id, text)
    const status = this.#early.get(result.id) ?? 'sent'
    this.#early.delete(result.id)
    return `[${clockTime(result.ts)}] me: ${text} ${MARK[status]}`
  }

  /** The line for a later step, if the message is on screen. */
  changed (change: MessageStatusChange): string | undefined {
    if (change.status === 'sent') return undefined
    const text = this.#texts.get(change.id)
    if (text !== undefined) return `-- ${MARK[change.status]}${change.status === 'read' ? '' : ' delivered'}: ${quote(text)}`
    const early = this.#early.get(change.id)
    if (early === undefined || RANK[change.status] > RANK[early]) this.#early.set(change.id, change.status)
    return undefined
  }
}

export function presenceLine (presence: Presence): string {
  if (presence.online) return `-- ${presence.contact} is online`
  if (presence.lastSeen === undefined) return `-- ${presence.contact} is offline`
  return `-- ${presence.contact} was last seen ${clockTime(presence.lastSeen)}`
}

function quote (text: string): string {
  return JSON.stringify(text.length > 40 ? `${text.slice(0, 39)}…` : text)
}
