import type { ChatMessage, Conversation, HistoryEntry, MessageStatus } from 'lowband/sdk'

/** One line of a conversation as the page shows it. */
export interface Line {
  readonly cseq: number
  readonly from: string
  readonly text: string
  readonly own: boolean
  readonly ts: number
  readonly system: boolean
}

/** A message of mine not stored yet: shown without a tick until its send resolves. */
export interface PendingLine {
  readonly key: number
  readonly text: string
}

const RANK: Readonly<Record<MessageStatus, number>> = { sent: 0, delivered: 1, read: 2 }

/**
 * What the page knows of one conversation: the lines by cseq (history pages and live messages
 * merge by cseq, so a line seen twice is shown once), my pending sends, and my messages' statuses,
 * which only move forward.
 */
export class Thread {
  readonly lines = new Map<number, Line>()
  readonly pending: PendingLine[] = []
  readonly #statuses = new Map<number, MessageStatus>()
  /** The newest page was fetched; `more` says whether older pages exist. */
  loaded = false
  more = false

  constructor (readonly conversation: Conversation) {}

  get title (): string { return 'group' in this.conversation ? `# ${this.conversation.group}` : this.conversation.user }

  add (message: ChatMessage | HistoryEntry): void {
    const text = message.system?.text ?? message.text ?? `(${message.kind === 1 ? 'media' : 'binary'} message)`
    this.lines.set(message.cseq, { cseq: message.cseq, from: message.from, text, own: message.own, ts: message.ts, system: message.system !== undefined })
    if ('status' in message && message.own) this.setStatus(message.cseq, message.status)
  }

  setStatus (cseq: number, status: MessageStatus): void {
    const known = this.#statuses.get(cseq)
    if (known === undefined || RANK[status] > RANK[known]) this.#statuses.set(cseq, status)
  }

  status (cseq: number): MessageStatus | undefined { return this.#statuses.get(cseq) }

  /** Oldest first. */
  sorted (): Line[] { return [...this.lines.values()].sort((a, b) => a.cseq - b.cseq) }

  get oldest (): number | undefined { return this.sorted()[0]?.cseq }

  /** The newest message of someone else: what opening the chat has read. */
  get newestFromOthers (): number {
    let newest = 0
    for (const line of this.lines.values()) if (!line.own && line.cseq > newest) newest = line.cseq
    return newest
  }
}

export function conversationKey (conversation: Conversation): string {
  return 'group' in conversation ? `g:${conversation.group}` : `u:${conversation.user}`
}
