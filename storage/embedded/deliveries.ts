import { KIND } from '../../protocol/envelopes.js'
import type { ReceiptEntry, StoredReceipt } from '../contracts.js'
import { KeyedLock } from '../keyed-lock.js'
import { put, type InboxSlot, type Op, type StoreCore, type StoredRecord } from './core.js'
import { keys } from './keys.js'
import { decodeRecord } from './record-codec.js'

/** Steps one walk takes before letting other work run: a member who joined a long group walks past its past once. */
const WALK_STEPS_PER_TURN = 1000
/**
 * After a crash, how many inbox entries before a resuming device's cursor count as delivered again:
 * what a crash loses is the last window's acknowledgements, entries just before the cursor.
 */
export const RECOVERY_SPAN = 256
/** How long after a crash resumes are looked at: the devices connected then reconnect at once. */
const RECOVERY_PERIOD_MS = 10 * 60_000

/** One user's delivery position in one conversation. */
interface Position {
  readonly recipient: string
  /** Every message to `recipient` with cseq ≤ at has reached one of its devices. */
  at: number
  /** What the store holds (≤ at). */
  stored: number
  /** Acknowledged messages after `at`, waiting for an earlier one. */
  ahead: Set<number> | undefined
  /** The recipient has read up to here: everything to it up to this cseq counts as acknowledged. */
  readTo: number
  /** Set only while a long walk waits for its next turn. */
  walking: Promise<void> | undefined
}

/** The delivery state of one conversation, written by one flush. */
interface ConversationDeliveries {
  readonly conversation: string
  /** The group of a group conversation. */
  readonly group: string | undefined
  readonly positions: Map<string, Position>
  /** Positions moved since the last flush. */
  dirty: Set<Position>
  /** Receipts owed since the last flush: by sender, who got its messages (1:1) and up to which cseq. */
  due: Map<string, { peer: string, cseq: number }>
  /** Groups: every message up to here has reached every member it was stored for. */
  toAll: number
  toAllStored: number
  /** Groups: per message after `toAll`, how many of its members have not got it; counted when first needed. */
  readonly missing: Map<number, number>
  /** Counts every move, so a caller can tell whether its acknowledgement moved anything. */
  moves: number
}

/**
 * Delivered, as one watermark per conversation and recipient, kept in memory and written once per
 * flush (the caller's window) instead of one synced write per acknowledgement.
 *
 * A position moves only over messages its recipient acknowledged (or read): an acknowledgement
 * ahead of an unacknowledged message waits for it, and messages not for the recipient (its own,
 * or a group's from before it joined) are passed over. A group message is delivered when every
 * member it was stored for has passed it, counted per message; the group's delivered-to-all point
 * moves like its read-by-all point, and each sender is told up to its last message before it.
 *
 * Durability: a flush writes a conversation's positions and the receipts they imply in one batch,
 * so what is stored never claims more than was acknowledged, never less than it told, and never
 * moves back. A crash loses what was recorded since the last flush; a device resuming after it
 * proves, with its cursor, that it holds every entry up to there, which recovers those (late, not
 * wrong): see recoverUpTo.
 */
export class Deliveries {
  readonly #core: StoreCore
  readonly #conversations = new Map<string, ConversationDeliveries>()
  readonly #flushes = new KeyedLock()
  /** Until when resumes recover deliveries (ms since the epoch): after a crash, for a while; else never. */
  readonly #recoverUntil: number
  /** Per user, the highest cursor recovered from: each entry is looked at once. */
  readonly #recovered = new Map<string, number>()

  /** `afterCrash`: the last process did not close the store, so acknowledgements may have been lost. */
  constructor (core: StoreCore, afterCrash: boolean) {
    this.#core = core
    this.#recoverUntil = afterCrash ? Date.now() + RECOVERY_PERIOD_MS : 0
  }

  /** A device of `recipient` acknowledged `record`; the conversation when something moved. */
  async acknowledged (recipient: string, record: StoredRecord): Promise<string | undefined> {
    if (!isFor(record, recipient)) return undefined
    const state = this.#state(record.message.conversation, record.message.group === true ? record.message.to : undefined)
    const position = this.#position(state, recipient)
    const moves = state.moves
    const { cseq } = record.message
    if (cseq === position.at + 1 && position.walking === undefined) {
      // The usual case, in order: no set of waiting acknowledgements to keep.
      this.#reached(state, position, cseq, record)
      if (position.ahead !== undefined || position.readTo > position.at) await this.#walk(state, position)
    } else if (cseq > position.at) {
      (position.ahead ??= new Set()).add(cseq)
      await (position.walking ?? this.#walk(state, position))
    }
    if (state.moves > moves) return state.conversation
    this.#release(state)
    return undefined
  }

  /** `reader` read the conversation up to `cseq`: what it read has reached it. Written with the next flush. */
  async read (reader: string, conversation: string, group: string | undefined, cseq: number): Promise<void> {
    const state = this.#state(conversation, group)
    const position = this.#position(state, reader)
    if (cseq > position.readTo) {
      position.readTo = cseq
      await (position.walking ?? this.#walk(state, position))
    }
    this.#release(state)
  }

  /**
   * A device resumed from `cursor`, so every entry up to there has reached it. Looked at only for a
   * while after a crash, for the RECOVERY_SPAN entries before the cursor (each entry once): what
   * the crash lost. Otherwise nothing is lost in-process — Aedes redelivers an unacknowledged
   * PUBLISH to a persistent session when it reconnects — and nothing is done.
   */
  async recoverUpTo (recipient: string, cursor: number, head: () => Promise<number>): Promise<string[]> {
    const recovered = this.#recovered.get(recipient) ?? 0
    if (Date.now() > this.#recoverUntil || cursor <= recovered) return []
    const upTo = Math.min(cursor, await head())
    this.#recovered.set(recipient, Math.max(upTo, recovered))
    const moved = new Set<string>()
    const range = { gt: keys.inbox(recipient, Math.max(recovered, upTo - RECOVERY_SPAN)), lte: keys.inbox(recipient, upTo) }
    for await (const value of this.#core.db.values(range)) {
      const id = decodeRecord<InboxSlot>(value).m
      const record = id === undefined ? undefined : this.#core.record(id)
      const conversation = record === undefined ? undefined : await this.acknowledged(recipient, record)
      if (conversation !== undefined) moved.add(conversation)
    }
    return [...moved]
  }

  /** See MessageStore.flushDelivered. */
  flush (conversation: string, ts: number): Promise<ReceiptEntry[]> {
    return this.#flushes.run(conversation, async () => {
      const state = this.#conversations.get(conversation)
      if (state === undefined) return []
      if (!unflushed(state)) {
        this.#release(state)
        return []
      }
      const positions = [...state.dirty].map((position) => ({ position, at: position.at }))
      const due = state.due
      const toAll = state.toAll
      state.dirty = new Set()
      state.due = new Map()
      const ops: Op[] = positions.map(({ position, at }) => put(keys.deliveredTo(conversation, position.recipient), at))
      if (toAll > state.toAllStored) ops.push(put(keys.deliveredToAll(conversation), toAll))
      const receipts: Array<{ owner: string, receipt: StoredReceipt }> = []
      for (const [owner, { peer, cseq }] of due) {
        const read = state.group === undefined ? this.#core.watermark(conversation, peer) : this.#core.number(keys.readByAll(conversation))
        if (cseq > read) receipts.push({ owner, receipt: { peer, status: 1, cseq, ts, ...(state.group === undefined ? {} : { group: true }) } })
      }
      let entries: ReceiptEntry[]
      try {
        entries = await this.#core.appendReceipts(receipts, ops)
      } catch (error) {
        // Not written: owed to the next flush (a newer receipt for the same sender wins).
        for (const { position } of positions) state.dirty.add(position)
        for (const [owner, owed] of due) if (!state.due.has(owner)) state.due.set(owner, owed)
        throw error
      }
      for (const { position, at } of positions) position.stored = Math.max(position.stored, at)
      state.toAllStored = Math.max(state.toAllStored, toAll)
      this.#release(state)
      return entries
    })
  }

  /** Flushes every conversation with something unwritten (at close: the receipts wait in the inboxes). */
  async flushAll (ts: number): Promise<void> {
    await Promise.all([...this.#conversations.values()].filter(unflushed).map((state) => this.flush(state.conversation, ts)))
  }

  /** How far the messages to `recipient` in the conversation have reached it. */
  deliveredTo (conversation: string, recipient: string): number {
    return this.#conversations.get(conversation)?.positions.get(recipient)?.at ?? this.#storedAt(conversation, recipient)
  }

  /** Groups: how far every message has reached every member it was stored for. */
  deliveredToAll (conversation: string): number {
    return this.#conversations.get(conversation)?.toAll ?? this.#core.number(keys.deliveredToAll(conversation))
  }

  /**
   * Moves the position over every acknowledged (or read) message right after it, passing messages
   * that are not for its recipient, and stops before one that is and has not reached it.
   */
  #walk (state: ConversationDeliveries, position: Position): Promise<void> | undefined {
    for (let steps = 1; (position.ahead?.size ?? 0) > 0 || position.at < position.readTo; steps++) {
      if (steps > WALK_STEPS_PER_TURN) return this.#walkNextTurn(state, position)
      const next = position.at + 1
      if (position.ahead?.delete(next) === true) {
        this.#reached(state, position, next, undefined)
        continue
      }
      const record = this.#core.messageAt(state.conversation, next)
      if (record === undefined) break
      if (!isFor(record, position.recipient)) {
        position.at = next
        state.dirty.add(position)
        state.moves++
      } else if (next <= position.readTo) {
        this.#reached(state, position, next, record)
      } else {
        break
      }
    }
    if (position.ahead?.size === 0) position.ahead = undefined
    return undefined
  }

  #walkNextTurn (state: ConversationDeliveries, position: Position): Promise<void> {
    position.walking = new Promise<void>((resolve) => setImmediate(resolve)).then(() => {
      position.walking = undefined
      return this.#walk(state, position)
    })
    return position.walking
  }

  /** Message `cseq`, one for the position's recipient, has reached it. */
  #reached (state: ConversationDeliveries, position: Position, cseq: number, record: StoredRecord | undefined): void {
    position.at = cseq
    state.dirty.add(position)
    state.moves++
    if (state.group === undefined) {
      state.due.set(otherUser(state.conversation, position.recipient), { peer: position.recipient, cseq })
      return
    }
    const missing = state.missing.get(cseq)
    if (missing !== undefined) state.missing.set(cseq, missing - 1)
    if (cseq === state.toAll + 1 && (missing === undefined || missing === 1)) this.#advanceToAll(state, record)
  }

  /** Walks the group's messages after its delivered-to-all point while every member of each has it. */
  #advanceToAll (state: ConversationDeliveries, first: StoredRecord | undefined): void {
    for (let record = first; ; record = undefined) {
      const cseq = state.toAll + 1
      record ??= this.#core.messageAt(state.conversation, cseq)
      if (record === undefined) return
      let missing = state.missing.get(cseq)
      if (missing === undefined) {
        missing = (record.recipients ?? []).filter((member) => this.#positionAt(state, member) < cseq).length
        state.missing.set(cseq, missing)
      }
      if (missing > 0) return
      state.missing.delete(cseq)
      state.toAll = cseq
      // System messages ("alice added bob") carry no ticks.
      if (record.message.kind !== KIND.system) state.due.set(record.message.from, { peer: state.group!, cseq })
    }
  }

  #state (conversation: string, group: string | undefined): ConversationDeliveries {
    let state = this.#conversations.get(conversation)
    if (state === undefined) {
      const toAll = group === undefined ? 0 : this.#core.number(keys.deliveredToAll(conversation))
      state = { conversation, group, positions: new Map(), dirty: new Set(), due: new Map(), toAll, toAllStored: toAll, missing: new Map(), moves: 0 }
      this.#conversations.set(conversation, state)
    }
    return state
  }

  #position (state: ConversationDeliveries, recipient: string): Position {
    let position = state.positions.get(recipient)
    if (position === undefined) {
      const at = this.#storedAt(state.conversation, recipient)
      position = { recipient, at, stored: at, ahead: undefined, readTo: at, walking: undefined }
      state.positions.set(recipient, position)
    }
    return position
  }

  /** A member's position, from memory or the store, without keeping it in memory. */
  #positionAt (state: ConversationDeliveries, member: string): number {
    return state.positions.get(member)?.at ?? this.#storedAt(state.conversation, member)
  }

  /**
   * The stored position, or the stored read watermark where that is further: reading proves having,
   * and a read written before a crash is never lost with the window. Memory and counts both start
   * here, so they agree.
   */
  #storedAt (conversation: string, recipient: string): number {
    return Math.max(this.#core.number(keys.deliveredTo(conversation, recipient)), this.#core.watermark(conversation, recipient))
  }

  /** Forgets what is written and settled; it is read back from the store when next needed. */
  #release (state: ConversationDeliveries): void {
    for (const [recipient, position] of state.positions) {
      if (position.at === position.stored && position.ahead === undefined && position.walking === undefined && position.readTo <= position.at && !state.dirty.has(position)) {
        state.positions.delete(recipient)
      }
    }
    if (state.positions.size === 0 && state.missing.size === 0 && !unflushed(state)) this.#conversations.delete(state.conversation)
  }
}

function unflushed (state: ConversationDeliveries): boolean {
  return state.dirty.size > 0 || state.due.size > 0 || state.toAll > state.toAllStored
}

/** True for a message that `user` is to receive: someone else's 1:1 message to it, or a group message stored for it. */
function isFor (record: StoredRecord, user: string): boolean {
  const { message } = record
  if (message.group === true) return record.recipients?.includes(user) === true
  return message.to === user && message.from !== user
}

/** The other user of a 1:1 conversation `d:<a>:<b>` (user ids cannot contain `:`). */
function otherUser (conversation: string, user: string): string {
  const second = conversation.indexOf(':', 2)
  const a = conversation.slice(2, second)
  return a === user ? conversation.slice(second + 1) : a
}
