import type { Body, ClientMsgId } from '../protocol/envelopes.js'
import type { DeviceId, UserId } from '../protocol/ids.js'

/** A message as the broker stamped it (invariant 2: sender, id and time come from the broker). */
export interface StoredMessage {
  id: string
  from: UserId
  fromDevice: DeviceId
  to: UserId
  body: Body
  kind: number
  /** Server time, Unix seconds. */
  ts: number
  clientMsgId: ClientMsgId
}

export type NewDirectMessage = Omit<StoredMessage, 'id'>

/** One entry of a user's inbox: the message and its place in that user's sequence. */
export interface InboxEntry {
  seq: number
  message: StoredMessage
}

export interface AppendResult {
  message: StoredMessage
  /** Inbox sequence of the message in the sender's and the recipient's inbox (equal for a note to self). */
  senderSeq: number
  recipientSeq: number
  /** True when this was a resend of an already stored message: nothing new was written. */
  duplicate: boolean
}

/**
 * Messages and inboxes. The source of truth (invariant 6): MQTT session queues are only a fast path.
 * Every adapter passes test/storage/message-store.contract.ts.
 */
export interface MessageStore {
  /**
   * Stores a 1:1 message durably, in one write, in the sender's and the recipient's inbox; resolves
   * only once it is on disk. A message with the same (from, fromDevice, clientMsgId) as a stored one
   * is not stored again: the stored one is returned with `duplicate: true`.
   */
  appendDirect (message: NewDirectMessage): Promise<AppendResult>
  /** Entries of a user's inbox with seq > afterSeq, oldest first, at most `limit`. */
  readInbox (userId: UserId, afterSeq: number, limit: number): Promise<InboxEntry[]>
  /** The highest seq of the user's inbox (0 when empty). */
  inboxHead (userId: UserId): Promise<number>
}

/** Users known to the broker. A user exists once it has authenticated with a valid token. */
export interface Directory {
  registerUser (userId: UserId): Promise<void>
  hasUser (userId: UserId): Promise<boolean>
}

export interface Storage {
  readonly messages: MessageStore
  readonly directory: Directory
  /** Resolves when every write accepted so far is durable. */
  flush (): Promise<void>
  close (): Promise<void>
}
