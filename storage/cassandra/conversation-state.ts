import { RetriableError } from '../retriable.js'
import { applied, toNumber, type CqlClient, type CqlOptions } from './cql-client.js'
import { MAX_LWT_ATTEMPTS } from './sequences.js'

/** A member's marks: delivered (messages to it reached a device) and read, both cseqs. */
export type MemberColumn = 'delivered' | 'read_to'
/** A group's points every member has reached. */
export type GroupColumn = 'delivered_to_all' | 'read_by_all'

export interface ConversationMarks {
  members: Map<string, { delivered: number, read: number }>
  deliveredToAll: number
  readByAll: number
}

/**
 * The delivered and read marks of conversations (table conversation_state), moved forward only:
 * a compare-and-set from the value last seen, retried with the value a refusal returns, and given
 * up when the stored value is already at or past the target (another node moved it further).
 */
export class ConversationState {
  readonly #client: CqlClient
  readonly #options: CqlOptions

  constructor (client: CqlClient, options: CqlOptions) {
    this.#client = client
    this.#options = options
  }

  async read (conversation: string): Promise<ConversationMarks> {
    const { rows } = await this.#client.execute(
      'SELECT member, delivered, read_to, delivered_to_all, read_by_all FROM conversation_state WHERE conversation = ?', [conversation], this.#options)
    const members = new Map<string, { delivered: number, read: number }>()
    for (const row of rows) {
      if (typeof row['member'] === 'string') members.set(row['member'], { delivered: orZero(row['delivered']), read: orZero(row['read_to']) })
    }
    return { members, deliveredToAll: orZero(rows[0]?.['delivered_to_all']), readByAll: orZero(rows[0]?.['read_by_all']) }
  }

  async member (conversation: string, member: string): Promise<{ delivered: number, read: number }> {
    const { rows: [row] } = await this.#client.execute(
      'SELECT delivered, read_to FROM conversation_state WHERE conversation = ? AND member = ?', [conversation, member], this.#options)
    return { delivered: orZero(row?.['delivered']), read: orZero(row?.['read_to']) }
  }

  /** Moves a member's mark forward to `to`; the value it held before, or undefined when it was already at or past `to`. */
  advanceMember (conversation: string, member: string, column: MemberColumn, to: number, seen?: number): Promise<number | undefined> {
    return this.#advance(`UPDATE conversation_state SET ${column} = ? WHERE conversation = ? AND member = ? IF ${column} = ?`, [conversation, member], column, to, seen)
  }

  /** Moves a group point from `from` to `to` if it still is at `from`; false when another node moved it. */
  async moveGroup (conversation: string, column: GroupColumn, from: number, to: number): Promise<boolean> {
    const { rows: [row] } = await this.#client.execute(
      `UPDATE conversation_state SET ${column} = ? WHERE conversation = ? IF ${column} = ?`, [to, conversation, from === 0 ? null : from], this.#options)
    return applied(row)
  }

  async #advance (cql: string, key: unknown[], column: string, to: number, seen: number | undefined): Promise<number | undefined> {
    let expected = seen ?? 0
    for (let attempt = 0; attempt < MAX_LWT_ATTEMPTS; attempt++) {
      if (expected >= to) return undefined
      const { rows: [row] } = await this.#client.execute(cql, [to, ...key, expected === 0 ? null : expected], this.#options)
      if (applied(row)) return expected
      expected = orZero(row?.[column])
    }
    throw new RetriableError(`${column} of ${String(key[0])}: still contended after ${MAX_LWT_ATTEMPTS} attempts`)
  }
}

function orZero (value: unknown): number {
  return value === null || value === undefined ? 0 : toNumber(value)
}
