import { LRUCache } from 'lru-cache'
import type { ReceiptEntry } from './contracts.js'
import { KeyedLock } from './keyed-lock.js'
import { isFor, type MessageRef } from './message-ref.js'

/** After a resume, how many inbox entries before the cursor count as delivered (what a lost broker's last window held). */
export const RECOVERY_SPAN = 256

/** The newest message to a user in one conversation, found in a stretch of its inbox. */
export interface LatestInInbox {
  conversation: string
  cseq: number
  /** The group of a group conversation. */
  group: string | undefined
}

/** One flush of one conversation, as the adapter writes it. */
export interface DeliveryFlush {
  conversation: string
  group: string | undefined
  /** Positions that moved: merged forward into the stored ones (never back). */
  positions: ReadonlyArray<{ recipient: string, at: number, stored: number }>
  /** 1:1: receipts owed, by sender; the adapter drops what the stored position or a read already told. */
  due: ReadonlyMap<string, { peer: string, cseq: number }>
  /** Groups: a member moved, so the delivered-to-all point may move. */
  groupMoved: boolean
  ts: number
}

/** How a store that several brokers share reads and writes delivered watermarks. */
export interface DeliveryRecords {
  /** The message at `cseq` of a conversation. */
  messageAt (conversation: string, cseq: number): Promise<MessageRef | undefined>
  /** The stored position, or the read watermark where that is further: reading proves having. */
  storedAt (conversation: string, recipient: string): Promise<number>
  /** Per conversation, the newest message from someone else in `recipient`'s inbox with lo < seq ≤ hi. */
  latestInInbox (recipient: string, lo: number, hi: number): Promise<LatestInInbox[]>
  /** Writes one flush and the receipts it implies; rejects when nothing was written. */
  write (flush: DeliveryFlush): Promise<ReceiptEntry[]>
}

/**
 * Positions kept after they are written and idle, so the next acknowledgement in a running chat
 * does not read its position from the store again (it did, once per message: one query of four).
 */
const CLEAN_POSITIONS = 50_000

/** One user's delivery position in one conversation, as this broker knows it. */
interface Position {
  readonly recipient: string
  /** Every message to `recipient` with cseq ≤ at has reached one of its devices. */
  at: number
  /** What the store held when last read or written (≤ at). */
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
 * Delivered watermarks in a store that several brokers share (PostgreSQL, Cassandra; the embedded
 * store, one process's, counts group deliveries in memory instead: storage/embedded/deliveries.ts).
 * Acknowledgements are counted in memory, per conversation and recipient, and written once per
 * flush (the caller's window); the written watermark is the truth the brokers share. A flush merges
 * into it and tells a sender only what the store did not already hold, so two brokers that both saw
 * a delivery send one receipt. A group's delivered-to-all point is computed at flush from every
 * member's written position: the last broker to flush a member's delivery completes the message,
 * whichever broker the other members were on. How each store makes a flush atomic is its
 * DeliveryRecords' business (row locks in PostgreSQL, compare-and-sets in Cassandra).
 */
export class SharedDeliveries {
  readonly #records: DeliveryRecords
  readonly #conversations = new Map<string, ConversationDeliveries>()
  /** One conversation's acknowledgements, reads and flushes run one at a time. */
  readonly #locks = new KeyedLock()
  /** Per user, the highest cursor recovered from: each entry is looked at once. */
  readonly #recovered = new Map<string, number>()
  /**
   * Written positions no longer held in #conversations, by conversation and recipient. Another
   * broker may have moved one further since: a position that starts behind only walks over what it
   * has, and an acknowledgement stuck behind a gap reads the store (#catchUp), as after any restart.
   */
  readonly #clean = new LRUCache<string, number>({ max: CLEAN_POSITIONS })

  constructor (records: DeliveryRecords) {
    this.#records = records
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
   * stop, so this is always on; it costs one read of the inbox per resume that moved the cursor.
   */
  async recoverUpTo (recipient: string, cursor: number): Promise<string[]> {
    const recovered = this.#recovered.get(recipient) ?? 0
    if (cursor <= recovered) return []
    this.#recovered.set(recipient, cursor)
    const moved: string[] = []
    for (const latest of await this.#records.latestInInbox(recipient, Math.max(recovered, cursor - RECOVERY_SPAN), cursor)) {
      if (await this.has(recipient, latest.conversation, latest.group, latest.cseq)) moved.push(latest.conversation)
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
      const moved = [...state.dirty].map((position) => ({ position, at: position.at }))
      const { due, groupMoved } = state
      state.dirty = new Set()
      state.due = new Map()
      state.groupMoved = false
      let entries: ReceiptEntry[]
      try {
        const positions = moved.map(({ position, at }) => ({ recipient: position.recipient, at, stored: position.stored }))
        entries = await this.#records.write({ conversation, group: state.group, positions, due, groupMoved, ts })
      } catch (error) {
        // Not written: owed to the next flush (a newer receipt for the same sender wins).
        for (const { position } of moved) state.dirty.add(position)
        for (const [owner, owed] of due) if (!state.due.has(owner)) state.due.set(owner, owed)
        state.groupMoved ||= groupMoved
        throw error
      }
      for (const { position, at } of moved) position.stored = Math.max(position.stored, at)
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
    return this.#conversations.get(conversation)?.positions.get(recipient)?.at ?? await this.#records.storedAt(conversation, recipient)
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
        const ref = next <= position.hasTo ? await this.#records.messageAt(state.conversation, next) : undefined
        if (next <= position.hasTo && ref === undefined) break
        this.#reached(state, position, next, ref === undefined || isFor(ref, position.recipient))
        continue
      }
      const ref = await this.#records.messageAt(state.conversation, next)
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
    const stored = await this.#records.storedAt(conversation, position.recipient)
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
      const at = this.#clean.get(cleanKey(state.conversation, recipient)) ?? await this.#records.storedAt(state.conversation, recipient)
      position = { recipient, at, stored: at, ahead: undefined, hasTo: at }
      state.positions.set(recipient, position)
    }
    return position
  }

  /** Forgets what is written and settled; it is read back from the store when next needed. */
  #release (state: ConversationDeliveries): void {
    for (const [recipient, position] of state.positions) {
      if (position.at === position.stored && position.ahead === undefined && position.hasTo <= position.at && !state.dirty.has(position)) {
        state.positions.delete(recipient)
        this.#clean.set(cleanKey(state.conversation, recipient), position.at)
      }
    }
    if (state.positions.size === 0 && !unflushed(state)) this.#conversations.delete(state.conversation)
  }
}

function cleanKey (conversation: string, recipient: string): string {
  return `${conversation}\n${recipient}`
}

function unflushed (state: ConversationDeliveries): boolean {
  return state.dirty.size > 0 || state.due.size > 0 || state.groupMoved
}

/** The other user of a 1:1 conversation `d:<a>:<b>` (user ids cannot contain `:`). */
function otherUser (conversation: string, user: string): string {
  const [, a, b] = conversation.split(':')
  return a === user ? b! : a!
}
