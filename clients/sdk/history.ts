import { KIND, type Body } from '../../protocol/envelopes.js'
import { LowbandError } from '../../protocol/errors.js'
import { HistoryArgs, HistoryItem, HistoryPage } from '../../protocol/requests.js'
import type { MediaRef } from '../../protocol/media.js'
import { mediaOf } from './chat-message.js'
import { peerOf, type Conversation } from './conversation.js'
import { decodeSystemNotice, type SystemNotice } from './group-events.js'
import { messageId } from './message-id.js'
import type { MessageStatus, MessageStatuses } from './message-status.js'
import type { Requests } from './requests.js'

/** One message of a history page. */
export interface HistoryEntry {
  readonly id: string
  readonly from: string
  readonly body: Body
  readonly text?: string
  readonly kind: number
  readonly cseq: number
  /** Server time, Unix seconds. */
  readonly ts: number
  /** Mine: as far as the recipient(s) got. Others': whether this user has received / read it. */
  readonly status: MessageStatus
  readonly own: boolean
  readonly system?: SystemNotice
  /** A media message, decoded; downloadMedia({ ...entry, conversation }) fetches its blob. */
  readonly media?: MediaRef
}

export interface HistoryResult {
  /** Oldest first. */
  readonly items: HistoryEntry[]
  /** Older messages exist: ask again with `before` = the first item's cseq. */
  readonly more: boolean
}

const STATUS: readonly MessageStatus[] = ['sent', 'delivered', 'read']

/**
 * A page of a conversation from the broker's store. My own messages on it join the status
 * tracker, so later receipts move them; a status the tracker already knows to be further wins.
 */
export async function fetchHistory (requests: Requests, statuses: MessageStatuses, self: string, conversation: Conversation, before?: number, limit?: number): Promise<HistoryResult> {
  if (before !== undefined && (!Number.isSafeInteger(before) || before < 1)) throw new LowbandError('BAD_ENVELOPE', `before: a cseq >= 1, got ${before}`)
  if (limit !== undefined && (!Number.isSafeInteger(limit) || limit < 1 || limit > 100)) throw new LowbandError('BAD_ENVELOPE', `limit: 1-100, got ${limit}`)
  const { peer, group } = peerOf(conversation)
  const args = HistoryArgs.toCbor({ peer, ...(before === undefined ? {} : { before }), ...(limit === undefined ? {} : { limit }), ...(group ? { group } : {}) })
  const page = HistoryPage.fromCbor(await requests.request('history', args))
  const items = page.items.map((raw): HistoryEntry => {
    const item = HistoryItem.fromCbor(raw)
    const own = item.from === self
    const reported = STATUS[item.status]!
    const system = group && item.kind === KIND.system ? decodeSystemNotice(item.body, self, item.from) : undefined
    const id = messageId(self, conversation, item.cseq)
    const media = item.kind === KIND.media ? mediaOf(item.body) : undefined
    return {
      id,
      from: item.from,
      body: item.body,
      ...(typeof item.body === 'string' ? { text: item.body } : {}),
      kind: item.kind ?? 0,
      cseq: item.cseq,
      ts: item.ts,
      // System messages carry no receipts: tracking them would only fill the tracker.
      status: own && system === undefined ? statuses.track(id, conversation, item.cseq, reported, false) : reported,
      own,
      ...(system === undefined ? {} : { system }),
      ...(media === undefined ? {} : { media })
    }
  })
  return { items, more: page.more }
}
