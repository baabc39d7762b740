import type { ReceiptEntry, StoredReceipt } from '../contracts.js'
import { KeyedLock } from '../keyed-lock.js'
import { isFor, type MessageRef } from '../postgres/message-rows.js'
import type { ConversationState } from './conversation-state.js'
import type { CqlClient, CqlOptions } from './cql-client.js'
import { toNumber } from './cql-client.js'
import type { CassandraMessageRefs } from './message-refs.js'
import { appendReceipts, walkGroup, type NewReceipt } from './receipts.js'
import { bucketOf } from './schema.js'
import type { Sequences } from './sequences.js'

/** After a resume, how many inbox entries before the cursor count as delivered (what a lost broker's last window held). */
export const RECOVERY_SPAN = 256

/** One user's delivery position in one conversation, as this broker knows it. */
interface Position {
  readonly recipient: string
  /** Every message to `recipient` with cseq ≤ at has reached one of its devices. */
  at: number
  /** What the database held when last read or written (≤ at). */
  stored: number
  /** Acknowledged messages after `at`, waiting for an earlier one. */
  ahead: Set<number> | undefined
  /** The recipient holds everything up to here (it read it, or resumed past it). */
  hasTo: number
}

interface ConversationDeliveries {
  readonly conversation: string
  /** The group of a group conversation. */
  readonly group: string | undefined
  readonly positions: Map<string, Position>
  dirty: Set<Position>
  /** 1:1: receipts owed since the last flush, by sender. */
  due: Map<string, { peer: string, cseq: number }>
  /** Groups: a member moved, so the delivered-to-all point may move at the next flush. */
  groupMoved: boolean
}

/**
 * Delivered watermarks in Cassandra, the PostgreSQL adapter's scheme (storage/postgres/deliveries.ts)
 * on compare-and-sets instead of row locks: acknowledgements are counted in memory and written once
 * per flush; a flush moves each stored position forward by LWT, and tells a sender only what the
 * stored position did not already hold, so two brokers that both saw a delivery send one receipt.
 * A group's delivered-to-all point moves by a compare-and-set from the value its walk started at:
 * the broker whose set succeeds sends the receipts for that stretch, and a refused one walks again.
 */
export class CassandraDeliveries {
  readonly #client: CqlClient
  readonly #options: CqlOptions
  readonly #sequences: Sequences
  readonly #marks: ConversationState
  readonly #refs: CassandraMessageRefs
  readonly #conversations = new Map<string, ConversationDeliveries>()
  /** One conversation's acknowledgements, reads and flushes run one at a time. */
  readonly #locks = new KeyedLock()
  /** Per user, the highest cursor recovered from: each entry is looked at once. */
  readonly #recovered = new Map<string, number>()

  constructor (client: CqlClient, options: CqlOptions, sequences: Sequences, marks: ConversationState, refs: CassandraMessageRefs) {
    this.#client = client
    this.#options = options
    this.#sequences = sequences
    this.#marks = marks
    this.#refs = refs
  }

  /** A device of `recipient` acknowledged `ref`; the conversation when something moved. */
  acknowledged (recipient: string, ref: MessageRef): Promise<string | undefined> {
    if (!isFor(ref, recipient)) return Promise.resolve(undefined)
    return this.#locks.run(ref.conversation, async () => {
      const state = this.#state(ref.conversation, ref.group ? ref.to : undefined)
      const position = await this.#position(state, recipient)
      if (ref.cseq > position.at) (position.ahead ??= new Set()).add(ref.cseq)
      let moved = await this.#walk(state, position)
      if (!moved && position.ahead !== undefined && await this.#catchUp(state.conversation, position)) {
        // Another broker moved this position past the gap: go on from where it stopped.
        moved = await this.#walk(state, position)
      }
      if (moved) return state.conversation
      this.#release(state)
      return undefined
    })
  }

  /** `user` holds the conversation up to `cseq` (it read it, or resumed past it). */
  has (user: string, conversation: string, group: string | undefined, cseq: number): Promise<boolean> {
    return this.#locks.run(conversation, async () => {
      const state = this.#state(conversation, group)
      const position = await this.#position(state, user)
      position.hasTo = Math.max(position.hasTo, cseq)
      const moved = await this.#walk(state, position)
      if (!moved) this.#release(state)
      return moved
    })
  }

  /**
   * A device resumed from `cursor`: it holds every entry up to there. A broker that died lost the
   * acknowledgements of its last window; the RECOVERY_SPAN entries before a resume's cursor recover
   * them (each entry once per broker). Several brokers cannot tell a peer's crash from its clean
   * stop, so this is always on; it costs one indexed read per resume that moved the cursor.
   */
  async recoverUpTo (recipient: string, cursor: number): Promise<string[]> {
    const recovered = this.#recovered.get(recipient) ?? 0
    if (cursor <= recovered) return []
    this.#recovered.set(recipient, cursor)
    const latest = new Map<string, MessageRef>()
    for (const ref of await this.#inboxRefs(recipient, Math.max(recovered, cursor - RECOVERY_SPAN), cursor)) {
      if (ref.from !== recipient && ref.cseq > (latest.get(ref.conversation)?.cseq ?? 0)) latest.set(ref.conversation, ref)
    }
    const moved: string[] = []
    for (const ref of latest.values()) {
      if (await this.has(recipient, ref.conversation, ref.group ? ref.to : undefined, ref.cseq)) moved.push(ref.conversation)
    }
    return moved
  }

  /** See MessageStore.flushDelivered. */
  flush (conversation: string, ts: number): Promise<ReceiptEntry[]> {
    return this.#locks.run(conversation, async () => {
      const state = this.#conversations.get(conversation)
      if (state === undefined) return []
      if (!unflushed(state)) {
        this.#release(state)
        return []
      }
      const positions = [...state.dirty].map((position) => ({ position, at: position.at }))
      const { due, groupMoved } = state
      state.dirty = new Set()
      state.due = new Map()
      state.groupMoved = false
      let entries: ReceiptEntry[]
      try {
        entries = await this.#write(state, positions, due, groupMoved, ts)
      } catch (error) {
        // Not written: owed to the next flush (a newer receipt for the same sender wins).
        for (const { position } of positions) state.dirty.add(position)
        for (const [owner, owed] of due) if (!state.due.has(owner)) state.due.set(owner, owed)
        state.groupMoved ||= groupMoved
        throw error
      }
      for (const { position, at } of positions) position.stored = Math.max(position.stored, at)
      this.#release(state)
      return entries
    })
  }

  /** Flushes every conversation with something unwritten (at close). */
  async flushAll (ts: number): Promise<void> {
    await Promise.all([...this.#conversations.values()].filter(unflushed).map((state) => this.flush(state.conversation, ts)))
  }

  /** How far the messages to `recipient` in the conversation have reached it. */
  async deliveredTo (conversation: string, recipient: string): Promise<number> {
    return this.#conversations.get(conversation)?.positions.get(recipient)?.at ?? await this.#storedAt(conversation, recipient)
  }

  async #write (state: ConversationDeliveries, positions: Array<{ position: Position, at: number }>,
    due: Map<string, { peer: string, cseq: number }>, groupMoved: boolean, ts: number): Promise<ReceiptEntry[]> {
    const { conversation } = state
    // What the stored position held before this flush moved it (at or past `at` when another broker had).
    const before = new Map<string, number>()
    for (const { position, at } of positions) {
      const previous = await this.#marks.advanceMember(conversation, position.recipient, 'delivered', at, position.stored)
      before.set(position.recipient, previous ?? at)
    }
    const receipts: NewReceipt[] = []
    if (state.group === undefined) {
      for (const [owner, { peer, cseq }] of due) {
        // Told already by another broker, or a read receipt said more: statuses only move forward.
        if (cseq <= (before.get(peer) ?? 0) || cseq <= (await this.#marks.member(conversation, peer)).read) continue
        receipts.push({ owner, receipt: { peer, status: 1, cseq, ts } })
      }
    } else if (groupMoved) {
      receipts.push(...await this.#deliveredToAll(conversation, state.group, ts))
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

  /**
   * Moves the position over every acknowledged (or held) message right after it, passing messages
   * not for its recipient, and stops before one that is and has not reached it. True when it moved.
   */
  async #walk (state: ConversationDeliveries, position: Position): Promise<boolean> {
    const start = position.at
    for (;;) {
      if (position.ahead !== undefined) for (const cseq of position.ahead) if (cseq <= position.at) position.ahead.delete(cseq)
      if ((position.ahead?.size ?? 0) === 0 && position.at >= position.hasTo) break
      const next = position.at + 1
      if (position.ahead?.delete(next) === true || next <= position.hasTo) {
        const ref = next <= position.hasTo ? await this.#refs.at(state.conversation, next) : undefined
        if (next <= position.hasTo && ref === undefined) break
        this.#reached(state, position, next, ref === undefined || isFor(ref, position.recipient))
        continue
      }
      const ref = await this.#refs.at(state.conversation, next)
      if (ref === undefined || isFor(ref, position.recipient)) break
      this.#reached(state, position, next, false)
    }
    if (position.ahead?.size === 0) position.ahead = undefined
    return position.at > start
  }

  /** Message `cseq` reached the position's recipient (`forRecipient`), or was not for it and is passed. */
  #reached (state: ConversationDeliveries, position: Position, cseq: number, forRecipient: boolean): void {
    position.at = cseq
    state.dirty.add(position)
    if (!forRecipient) return
    if (state.group === undefined) state.due.set(otherUser(state.conversation, position.recipient), { peer: position.recipient, cseq })
    else state.groupMoved = true
  }

  /** Reads the stored position again; true when another broker moved it past this one's. */
  async #catchUp (conversation: string, position: Position): Promise<boolean> {
    const stored = await this.#storedAt(conversation, position.recipient)
    if (stored <= position.at) return false
    position.at = stored
    position.stored = Math.max(position.stored, stored)
    return true
  }

  #state (conversation: string, group: string | undefined): ConversationDeliveries {
    let state = this.#conversations.get(conversation)
    if (state === undefined) {
      state = { conversation, group, positions: new Map(), dirty: new Set(), due: new Map(), groupMoved: false }
      this.#conversations.set(conversation, state)
    }
    return state
  }

  async #position (state: ConversationDeliveries, recipient: string): Promise<Position> {
    let position = state.positions.get(recipient)
    if (position === undefined) {
      const at = await this.#storedAt(state.conversation, recipient)
      position = { recipient, at, stored: at, ahead: undefined, hasTo: at }
      state.positions.set(recipient, position)
    }
    return position
  }

  /** The stored position, or the read watermark where that is further: reading proves having. */
  async #storedAt (conversation: string, recipient: string): Promise<number> {
    const mark = await this.#marks.member(conversation, recipient)
    return Math.max(mark.delivered, mark.read)
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

  /** Forgets what is written and settled; it is read back from the database when next needed. */
  #release (state: ConversationDeliveries): void {
    for (const [recipient, position] of state.positions) {
      if (position.at === position.stored && position.ahead === undefined && position.hasTo <= position.at && !state.dirty.has(position)) {
        state.positions.delete(recipient)
      }
    }
    if (state.positions.size === 0 && !unflushed(state)) this.#conversations.delete(state.conversation)
  }
}

function unflushed (state: ConversationDeliveries): boolean {
  return state.dirty.size > 0 || state.due.size > 0 || state.groupMoved
}

/** The other user of a 1:1 conversation `d:<a>:<b>` (user ids cannot contain `:`). */
function otherUser (conversation: string, user: string): string {
  const [, a, b] = conversation.split(':')
  return a === user ? b! : a!
}
