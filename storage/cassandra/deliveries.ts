import type { ReceiptEntry, StoredReceipt } from '../contracts.js'
import type { MessageRef } from '../message-ref.js'
import type { DeliveryFlush, DeliveryRecords, LatestInInbox } from '../shared-deliveries.js'
import type { ConversationState } from './conversation-state.js'
import type { CqlClient, CqlOptions } from './cql-client.js'
import { toNumber } from './cql-client.js'
import type { CassandraMessageRefs } from './message-refs.js'
import { appendReceipts, walkGroup, type NewReceipt } from './receipts.js'
import { bucketOf } from './schema.js'
import type { Sequences } from './sequences.js'

/**
 * Delivered watermarks in Cassandra (the tracking is storage/shared-deliveries.ts), on
 * compare-and-sets instead of PostgreSQL's row locks: a flush moves each stored position forward by
 * LWT and learns what it held before. A group's delivered-to-all point moves by a compare-and-set
 * from the value its walk started at: the broker whose set succeeds sends the receipts for that
 * stretch, and a refused one walks again.
 */
export class CassandraDeliveryRecords implements DeliveryRecords {
  readonly #client: CqlClient
  readonly #options: CqlOptions
  readonly #sequences: Sequences
  readonly #marks: ConversationState
  readonly #refs: CassandraMessageRefs

  constructor (client: CqlClient, options: CqlOptions, sequences: Sequences, marks: ConversationState, refs: CassandraMessageRefs) {
    this.#client = client
    this.#options = options
    this.#sequences = sequences
    this.#marks = marks
    this.#refs = refs
  }

  messageAt (conversation: string, cseq: number): Promise<MessageRef | undefined> {
    return this.#refs.at(conversation, cseq)
  }

  async storedAt (conversation: string, recipient: string): Promise<number> {
    const mark = await this.#marks.member(conversation, recipient)
    return Math.max(mark.delivered, mark.read)
  }

  async latestInInbox (recipient: string, lo: number, hi: number): Promise<LatestInInbox[]> {
    const latest = new Map<string, MessageRef>()
    for (const ref of await this.#inboxRefs(recipient, lo, hi)) {
      if (ref.from !== recipient && ref.cseq > (latest.get(ref.conversation)?.cseq ?? 0)) latest.set(ref.conversation, ref)
    }
    return [...latest.values()].map((ref) => ({ conversation: ref.conversation, cseq: ref.cseq, group: ref.group ? ref.to : undefined }))
  }

  async write ({ conversation, group, positions, due, groupMoved, ts }: DeliveryFlush): Promise<ReceiptEntry[]> {
    // What the stored position held before this flush moved it (at or past `at` when another broker had).
    const before = new Map<string, number>()
    for (const { recipient, at, stored } of positions) {
      const previous = await this.#marks.advanceMember(conversation, recipient, 'delivered', at, stored)
      before.set(recipient, previous ?? at)
    }
    const receipts: NewReceipt[] = []
    if (group === undefined) {
      for (const [owner, { peer, cseq }] of due) {
        // Told already by another broker, or a read receipt said more: statuses only move forward.
        if (cseq <= (before.get(peer) ?? 0) || cseq <= (await this.#marks.member(conversation, peer)).read) continue
        receipts.push({ owner, receipt: { peer, status: 1, cseq, ts } })
      }
    } else if (groupMoved) {
      receipts.push(...await this.#deliveredToAll(conversation, group, ts))
    }
    return await appendReceipts(this.#client, this.#options, this.#sequences, receipts)
  }

  /** Moves the group's delivered-to-all point over every message all its members now have. */
  async #deliveredToAll (conversation: string, group: string, ts: number): Promise<NewReceipt[]> {
    for (;;) {
      const marks = await this.#marks.read(conversation)
      const has = new Map([...marks.members].map(([member, mark]) => [member, Math.max(mark.delivered, mark.read)]))
      const { to: toAll, bySender } = await walkGroup(this.#refs, conversation, marks.deliveredToAll, has)
      if (toAll === marks.deliveredToAll) return []
      // Refused: another broker moved the point meanwhile, and told the senders of its stretch. Walk again from there.
      if (!await this.#marks.moveGroup(conversation, 'delivered_to_all', marks.deliveredToAll, toAll)) continue
      const receipts: NewReceipt[] = []
      for (const [owner, cseq] of bySender) {
        if (cseq > marks.readByAll) receipts.push({ owner, receipt: { peer: group, group: true, status: 1, cseq, ts } satisfies StoredReceipt })
      }
      return receipts
    }
  }

  /** The messages in `user`'s inbox with lo < seq ≤ hi. */
  async #inboxRefs (user: string, lo: number, hi: number): Promise<MessageRef[]> {
    const refs: MessageRef[] = []
    for (let bucket = bucketOf(lo + 1); bucket <= bucketOf(hi); bucket++) {
      const { rows } = await this.#client.execute(
        'SELECT seq, message_id FROM inbox WHERE user_id = ? AND bucket = ? AND seq > ? AND seq <= ?', [user, bucket, lo, hi], this.#options)
      for (const row of rows) {
        if (typeof row['message_id'] !== 'string') continue
        const ref = await this.#refs.atInbox(user, toNumber(row['seq']))
        if (ref !== undefined) refs.push(ref)
      }
    }
    return refs
  }
}
