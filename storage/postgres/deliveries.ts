import type pg from 'pg'
import type { ReceiptEntry, StoredReceipt } from '../contracts.js'
import { KeyedLock } from '../keyed-lock.js'
import type { PostgresCommitter } from './committer.js'
import { walkGroup } from './group-walk.js'
import { isFor, type MessageRef } from './message-rows.js'
import type { MessageRefs } from './message-refs.js'
import { appendReceipts, type NewReceipt } from './receipt-rows.js'

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
 * Delivered watermarks in PostgreSQL: acknowledgements are counted in memory, per conversation and
 * recipient, and written once per flush (the caller's window), like the embedded store — but the
 * written watermark is the truth that several brokers share. A flush merges into it (GREATEST) and
 * tells a sender only what the database did not already hold, so two brokers that both saw a
 * delivery send one receipt. A group's delivered-to-all point is computed at flush, under a lock on
 * its conversation row, from every member's written position: the last broker to flush a member's
 * delivery completes the message, whichever broker the other members were on.
 */
export class PostgresDeliveries {
  readonly #pool: pg.Pool
  readonly #committer: PostgresCommitter
  readonly #refs: MessageRefs
  readonly #conversations = new Map<string, ConversationDeliveries>()
  /** One conversation's acknowledgements, reads and flushes run one at a time. */
  readonly #locks = new KeyedLock()
  /** Per user, the highest cursor recovered from: each entry is looked at once. */
  readonly #recovered = new Map<string, number>()

  constructor (pool: pg.Pool, committer: PostgresCommitter, refs: MessageRefs) {
    this.#pool = pool
    this.#committer = committer
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
    const { rows } = await this.#pool.query<{ conversation: string, cseq: string, is_group: boolean, recipient: string }>(
      `SELECT m.conversation, max(m.cseq) AS cseq, bool_or(m.is_group) AS is_group, max(m.recipient) AS recipient
       FROM inbox i JOIN messages m ON m.id = i.message_id
       WHERE i.user_id = $1 AND i.seq > $2 AND i.seq <= $3 AND m.sender <> $1
       GROUP BY m.conversation`, [recipient, Math.max(recovered, cursor - RECOVERY_SPAN), cursor])
    const moved: string[] = []
    for (const row of rows) {
      if (await this.has(recipient, row.conversation, row.is_group ? row.recipient : undefined, Number(row.cseq))) moved.push(row.conversation)
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
        // The receipts' owners are known here for 1:1; a group's senders are found inside (undeclared).
        const locks = state.group === undefined ? { users: [...due.keys()] } : { conversations: [conversation] }
        entries = await this.#committer.run(locks, (client) => this.#write(client, state, positions, due, groupMoved, ts))
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

  async #write (client: pg.PoolClient, state: ConversationDeliveries, positions: Array<{ position: Position, at: number }>,
    due: Map<string, { peer: string, cseq: number }>, groupMoved: boolean, ts: number): Promise<ReceiptEntry[]> {
    const { conversation } = state
    // Locked in recipient order, so two brokers flushing one conversation wait rather than deadlock.
    const recipients = positions.map(({ position }) => position.recipient).sort()
    const { rows } = await client.query<{ recipient: string, at: string }>(
      'SELECT recipient, at FROM deliveries WHERE conversation = $1 AND recipient = ANY($2::text[]) ORDER BY recipient FOR UPDATE', [conversation, recipients])
    const before = new Map(rows.map((row) => [row.recipient, Number(row.at)]))
    await client.query(
      `INSERT INTO deliveries AS d (conversation, recipient, at) SELECT $1, r, a FROM unnest($2::text[], $3::bigint[]) AS t (r, a) ORDER BY r
       ON CONFLICT (conversation, recipient) DO UPDATE SET at = GREATEST(d.at, EXCLUDED.at)`,
      [conversation, positions.map(({ position }) => position.recipient), positions.map(({ at }) => at)])
    const receipts: NewReceipt[] = []
    if (state.group === undefined) {
      for (const [owner, { peer, cseq }] of due) {
        // Told already by another broker, or a read receipt said more: statuses only move forward.
        if (cseq <= (before.get(peer) ?? 0) || cseq <= await readMark(client, conversation, peer)) continue
        receipts.push({ owner, receipt: { peer, status: 1, cseq, ts } })
      }
    } else if (groupMoved) {
      receipts.push(...await this.#deliveredToAll(client, conversation, state.group, ts))
    }
    return await appendReceipts(client, receipts)
  }

  /** Moves the group's delivered-to-all point over every message all its members now have. */
  async #deliveredToAll (client: pg.PoolClient, conversation: string, group: string, ts: number): Promise<NewReceipt[]> {
    const { rows: [row] } = await client.query<{ delivered_to_all: string, read_by_all: string }>(
      'SELECT delivered_to_all, read_by_all FROM conversations WHERE conversation = $1 FOR UPDATE', [conversation])
    if (row === undefined) return []
    const { rows: marks } = await client.query<{ member: string, at: string }>(
      `SELECT recipient AS member, at FROM deliveries WHERE conversation = $1
       UNION ALL SELECT reader, cseq FROM read_marks WHERE conversation = $1`, [conversation])
    const has = new Map<string, number>()
    for (const mark of marks) has.set(mark.member, Math.max(has.get(mark.member) ?? 0, Number(mark.at)))
    const { to: toAll, bySender } = await walkGroup(client, conversation, Number(row.delivered_to_all), has)
    if (toAll === Number(row.delivered_to_all)) return []
    await client.query('UPDATE conversations SET delivered_to_all = $2 WHERE conversation = $1', [conversation, toAll])
    const readByAll = Number(row.read_by_all)
    const receipts: NewReceipt[] = []
    for (const [owner, cseq] of bySender) {
      if (cseq > readByAll) receipts.push({ owner, receipt: { peer: group, group: true, status: 1, cseq, ts } satisfies StoredReceipt })
    }
    return receipts
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
    const { rows } = await this.#pool.query<{ at: string }>(
      `SELECT GREATEST(
         (SELECT at FROM deliveries WHERE conversation = $1 AND recipient = $2),
         (SELECT cseq FROM read_marks WHERE conversation = $1 AND reader = $2), 0) AS at`, [conversation, recipient])
    return Number(rows[0]!.at)
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

async function readMark (client: pg.PoolClient, conversation: string, reader: string): Promise<number> {
  const { rows } = await client.query<{ cseq: string }>('SELECT cseq FROM read_marks WHERE conversation = $1 AND reader = $2', [conversation, reader])
  return Number(rows[0]?.cseq ?? 0)
}

/** The other user of a 1:1 conversation `d:<a>:<b>` (user ids cannot contain `:`). */
function otherUser (conversation: string, user: string): string {
  const [, a, b] = conversation.split(':')
  return a === user ? b! : a!
}
