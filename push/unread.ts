import { LRUCache } from 'lru-cache'
import type { UserId } from '../protocol/ids.js'

/** Unread cseqs kept per conversation: a badge shows "99+" long before this. */
const PER_CONVERSATION = 100
/** Users whose counts are kept; the least recently touched are forgotten first. */
const USERS = 100_000

interface Conversation {
  /** Unread cseqs, ascending, the newest PER_CONVERSATION of them. */
  cseqs: number[]
  /** Older unread messages beyond those. */
  older: number
}

/**
 * The unread count a push carries: for each user, the messages from others stored for it — in
 * every conversation — that its read watermarks have not passed yet, as this broker process
 * counted them since it started. Cheap by design: in memory, no store read on the way to a push,
 * fed by the same calls that schedule and cancel pushes, and kept only for users with a push
 * token. It is a badge hint; the app's own count after it syncs is the truth (a restart starts
 * from zero, and another node's messages are not counted here).
 */
export class UnreadCounts {
  readonly #users = new LRUCache<UserId, Map<string, Conversation>>({ max: USERS })

  add (user: UserId, conversation: string, cseq: number): void {
    let conversations = this.#users.get(user)
    if (conversations === undefined) {
      conversations = new Map()
      this.#users.set(user, conversations)
    }
    let unread = conversations.get(conversation)
    if (unread === undefined) {
      unread = { cseqs: [], older: 0 }
      conversations.set(conversation, unread)
    }
    if (unread.cseqs.includes(cseq)) return
    unread.cseqs.push(cseq)
    // Messages of one conversation are stored in cseq order; a group's may reach here a little out of it.
    if (unread.cseqs.length > 1 && cseq < unread.cseqs[unread.cseqs.length - 2]!) unread.cseqs.sort((a, b) => a - b)
    if (unread.cseqs.length > PER_CONVERSATION) {
      unread.cseqs.shift()
      unread.older++
    }
  }

  /** The user read the conversation up to `cseq`. */
  read (user: UserId, conversation: string, cseq: number): void {
    const conversations = this.#users.get(user)
    const unread = conversations?.get(conversation)
    if (unread === undefined) return
    const first = unread.cseqs[0]
    // The older ones all come before the first kept one: a watermark past it passed them too.
    if (first === undefined || cseq >= first) unread.older = 0
    unread.cseqs = unread.cseqs.filter((c) => c > cseq)
    if (unread.cseqs.length === 0 && unread.older === 0) conversations!.delete(conversation)
    if (conversations!.size === 0) this.#users.delete(user)
  }

  total (user: UserId): number {
    let total = 0
    for (const unread of this.#users.get(user)?.values() ?? []) total += unread.cseqs.length + unread.older
    return total
  }
}
