import { conversationOf, groupConversationOf, type ReceiptEntry } from '../contracts.js'
import { KeyedLock } from '../keyed-lock.js'
import type { ConversationState } from './conversation-state.js'
import type { CqlClient, CqlOptions } from './cql-client.js'
import type { SharedDeliveries } from '../shared-deliveries.js'
import type { CassandraMessageRefs } from './message-refs.js'
import { appendReceipts, walkGroup, type NewReceipt } from './receipts.js'
import type { Sequences } from './sequences.js'

/**
 * Read watermarks in Cassandra, forward-only: the reader's mark moves by compare-and-set (a read at
 * or below the stored one changes nothing), and a group's read-by-all point moves by a
 * compare-and-set from where its walk started, so each read-by-all transition sends one receipt to
 * its sender whichever broker makes it.
 */
export class CassandraReads {
  readonly #client: CqlClient
  readonly #options: CqlOptions
  readonly #sequences: Sequences
  readonly #marks: ConversationState
  readonly #refs: CassandraMessageRefs
  readonly #deliveries: SharedDeliveries
  /** One conversation's reads on this broker run one at a time (their receipts in mark order). */
  readonly #locks = new KeyedLock()

  constructor (client: CqlClient, options: CqlOptions, sequences: Sequences, marks: ConversationState, refs: CassandraMessageRefs, deliveries: SharedDeliveries) {
    this.#client = client
    this.#options = options
    this.#sequences = sequences
    this.#marks = marks
    this.#refs = refs
    this.#deliveries = deliveries
  }

  async markRead (reader: string, peer: string, cseq: number, ts: number, group: boolean): Promise<ReceiptEntry[]> {
    if (!group && reader === peer) return []
    const conversation = group ? groupConversationOf(peer) : conversationOf(reader, peer)
    const result = await this.#locks.run(conversation, async () => {
      const upTo = Math.min(cseq, await this.#sequences.current('c', conversation))
      if (upTo <= 0) return undefined
      const previous = await this.#marks.advanceMember(conversation, reader, 'read_to', upTo)
      if (previous === undefined) return undefined
      const byMe: NewReceipt = { owner: reader, receipt: { peer, status: 3, cseq: upTo, ts, ...(group ? { group: true } : {}) } }
      const receipts = group
        ? [...await this.#readByAll(conversation, peer, ts), byMe]
        : [{ owner: peer, receipt: { peer: reader, status: 2 as const, cseq: upTo, ts } }, byMe]
      return { upTo, entries: await appendReceipts(this.#client, this.#options, this.#sequences, receipts) }
    })
    if (result === undefined) return []
    // Reading proves having: the reader's delivered position moves too, written with the next flush.
    await this.#deliveries.has(reader, conversation, group ? peer : undefined, result.upTo)
    return result.entries
  }

  /** Moves the group's read-by-all point; a read receipt for the last message of each sender it passed. */
  async #readByAll (conversation: string, group: string, ts: number): Promise<NewReceipt[]> {
    for (;;) {
      const marks = await this.#marks.read(conversation)
      const reached = new Map([...marks.members].map(([member, mark]) => [member, mark.read]))
      const { to, bySender } = await walkGroup(this.#refs, conversation, marks.readByAll, reached)
      if (to === marks.readByAll) return []
      // Refused: another broker moved it meanwhile and told the senders of its stretch. Walk again.
      if (!await this.#marks.moveGroup(conversation, 'read_by_all', marks.readByAll, to)) continue
      return [...bySender].map(([owner, last]): NewReceipt => ({ owner, receipt: { peer: group, group: true, status: 2, cseq: last, ts } }))
    }
  }
}
