import {
  conversationOf, groupConversationOf, type AppendResult, type GroupAppendResult, type HistoryPage, type InboxEntry,
  type MessageStatus, type MessageStore, type NewDirectMessage, type NewGroupMessage, type ReceiptEntry, type StoredMessage
} from '../contracts.js'
import { refOf } from '../message-ref.js'
import { ConversationState } from './conversation-state.js'
import type { CqlClient, CqlOptions } from './cql-client.js'
import { DeviceCursors } from '../device-cursors.js'
import { SharedAppends } from '../shared-appends.js'
import { SharedDeliveries } from '../shared-deliveries.js'
import { CassandraDeliveryRecords } from './deliveries.js'
import { CassandraCursorRecords } from './device-cursor-records.js'
import { CassandraMessageLog, type LoggedMessage } from './message-log.js'
import { CassandraMessageRefs } from './message-refs.js'
import { CassandraReads } from './reads.js'
import { Sequences } from './sequences.js'

/**
 * The message store in Cassandra: appends, inboxes and history in the message log
 * (message-log.ts), delivered and read state in conversation_state (deliveries.ts, reads.ts).
 * Group membership is the caller's (`members`): the directory is not in Cassandra.
 */
export class CassandraMessageStore implements MessageStore {
  readonly #log: CassandraMessageLog
  readonly #marks: ConversationState
  readonly #refs: CassandraMessageRefs
  readonly #deliveries: SharedDeliveries
  readonly #reads: CassandraReads
  readonly #cursors: DeviceCursors
  readonly #appends = new SharedAppends((draft, holders, group) => this.#store(draft, holders, group))

  constructor (client: CqlClient, options: CqlOptions, newId: () => string) {
    const sequences = new Sequences(client, options)
    this.#log = new CassandraMessageLog(client, options, newId, Date.now, sequences)
    this.#marks = new ConversationState(client, options)
    this.#refs = new CassandraMessageRefs(client, options)
    this.#deliveries = new SharedDeliveries(new CassandraDeliveryRecords(client, options, sequences, this.#marks, this.#refs))
    this.#reads = new CassandraReads(client, options, sequences, this.#marks, this.#refs, this.#deliveries)
    this.#cursors = new DeviceCursors(new CassandraCursorRecords(client, options))
  }

  deviceCursor (userId: string, deviceId: string): Promise<number | undefined> {
    return this.#cursors.get(userId, deviceId)
  }

  advanceDeviceCursor (userId: string, deviceId: string, seq: number): void {
    this.#cursors.advance(userId, deviceId, seq)
  }

  /** Writes the device cursors advanced since their last write (at close). */
  flushDeviceCursors (): Promise<void> {
    return this.#cursors.flush()
  }

  appendDirect (draft: NewDirectMessage): Promise<AppendResult> {
    return this.#appends.direct(draft)
  }

  appendGroup (draft: NewGroupMessage, members: string[]): Promise<GroupAppendResult> {
    return this.#appends.group(draft, members)
  }

  async #store (draft: NewDirectMessage, holders: string[], group: boolean): Promise<LoggedMessage> {
    const stored = await this.#log.append(draft, holders, group)
    const users = Object.keys(stored.seqs)
    this.#refs.remember(refOf(stored.message, users), users, users.map((user) => stored.seqs[user]!))
    return stored
  }

  readInbox (userId: string, afterSeq: number, limit: number): Promise<InboxEntry[]> {
    return this.#log.readInbox(userId, afterSeq, limit)
  }

  inboxHead (userId: string): Promise<number> {
    return this.#log.inboxHead(userId)
  }

  async markDelivered (recipient: string, seq: number): Promise<string | undefined> {
    const ref = await this.#refs.atInbox(recipient, seq)
    return ref === undefined ? undefined : await this.#deliveries.acknowledged(recipient, ref)
  }

  markDeliveredUpTo (recipient: string, cursor: number): Promise<string[]> {
    return this.#deliveries.recoverUpTo(recipient, cursor)
  }

  flushDelivered (conversation: string, ts: number): Promise<ReceiptEntry[]> {
    return this.#deliveries.flush(conversation, ts)
  }

  /** Writes every delivery not yet flushed (at close). */
  flushAllDelivered (ts: number): Promise<void> {
    return this.#deliveries.flushAll(ts)
  }

  markRead (reader: string, peer: string, cseq: number, ts: number, group = false): Promise<ReceiptEntry[]> {
    return this.#reads.markRead(reader, peer, cseq, ts, group)
  }

  async history (userId: string, peer: string, before: number, limit: number, group = false): Promise<HistoryPage> {
    const conversation = group ? groupConversationOf(peer) : conversationOf(userId, peer)
    const { messages, more } = await this.#log.historyPage(conversation, before, limit)
    const status = await this.#statuses(conversation, userId, peer, group, messages.some((m) => m.from === userId && m.to !== userId))
    return { items: messages.map((message) => ({ message, status: status(message) })), more }
  }

  /** How `userId` sees the messages of a conversation: its own by the peer's progress, the others' by its own reading. */
  async #statuses (conversation: string, userId: string, peer: string, group: boolean, hasOwn: boolean): Promise<(message: StoredMessage) => MessageStatus> {
    const marks = await this.#marks.read(conversation)
    const myRead = marks.members.get(userId)?.read ?? 0
    const read = group ? marks.readByAll : marks.members.get(peer)?.read ?? 0
    const delivered = !hasOwn ? 0 : group ? marks.deliveredToAll : await this.#deliveries.deliveredTo(conversation, peer)
    return (message) => {
      if (message.from !== userId || message.to === userId) return message.cseq <= myRead ? 2 : 1
      return message.cseq <= read ? 2 : message.cseq <= delivered ? 1 : 0
    }
  }
}
