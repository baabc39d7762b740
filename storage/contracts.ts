import type { Body, ClientMsgId } from '../protocol/envelopes.js'
import type { DeviceId, UserId } from '../protocol/ids.js'
import type { PushPlatform } from '../protocol/requests.js'

/** A message as the broker stamped it (invariant 2: sender, id and time come from the broker). */
export interface StoredMessage {
  id: string
  /** Internal conversation key (see conversationOf). */
  conversation: string
  /** Sequence within the conversation, shared by both sides. */
  cseq: number
  from: UserId
  fromDevice: DeviceId
  /** The recipient user, or the group for a group message. */
  to: UserId
  /** True for a group message: `to` is a group id. */
  group?: boolean
  body: Body
  kind: number
  /** Server time, Unix seconds. */
  ts: number
  clientMsgId: ClientMsgId
}

export type NewDirectMessage = Omit<StoredMessage, 'id' | 'conversation' | 'cseq' | 'group'>
export type NewGroupMessage = NewDirectMessage

/** 1 delivered (peer got my message cseq), 2 read (peer read mine up to cseq), 3 read by me (up to cseq). */
export type ReceiptStatus = 1 | 2 | 3

export interface StoredReceipt {
  /** The other user, or the group when `group` is set. */
  peer: UserId
  group?: boolean
  status: ReceiptStatus
  cseq: number
  ts: number
}

/** One entry of a user's inbox: a message or a receipt, at its place in that user's sequence. */
export type InboxEntry =
  | { seq: number, message: StoredMessage, receipt?: undefined }
  | { seq: number, receipt: StoredReceipt, message?: undefined }

export interface AppendResult {
  message: StoredMessage
  /** Inbox sequence of the message in the sender's and the recipient's inbox (equal for a note to self). */
  senderSeq: number
  recipientSeq: number
  /** True when this was a resend of an already stored message: nothing new was written. */
  duplicate: boolean
}

export interface GroupAppendResult {
  message: StoredMessage
  /** Inbox sequence of the message for each member it was stored for (the sender included). */
  seqs: Record<UserId, number>
  duplicate: boolean
}

/** A receipt appended to `owner`'s inbox. */
export interface ReceiptEntry {
  owner: UserId
  seq: number
  receipt: StoredReceipt
}

/** 0 sent, 1 delivered, 2 read: statuses only move forward. */
export type MessageStatus = 0 | 1 | 2

export interface HistoryPage {
  /** Oldest first. */
  items: Array<{ message: StoredMessage, status: MessageStatus }>
  /** True when older messages exist before the first item. */
  more: boolean
}

/** The conversation key of two users: the same whichever of them asks. */
export function conversationOf (a: UserId, b: UserId): string {
  return a < b ? `d:${a}:${b}` : `d:${b}:${a}`
}

export function groupConversationOf (groupId: string): string {
  return `g:${groupId}`
}

/**
 * Messages, inboxes, receipts and history. The source of truth (invariant 6): MQTT session queues
 * are only a fast path. Every adapter passes test/storage/message-store.contract.ts.
 */
export interface MessageStore {
  /**
   * Stores a 1:1 message durably, in one write, in the sender's and the recipient's inbox and its
   * conversation; resolves only once it is on disk. A message with the same (from, fromDevice,
   * clientMsgId) as a stored one is not stored again: the stored one is returned, `duplicate: true`.
   *
   * `placed` (optional for an adapter to call): called at most once, as soon as the message has its
   * place — its cseq and inbox seqs, or its stored original — before it is durable. An adapter calls
   * it only if it can promise that every append called after that is numbered after this one, and
   * that if this write fails, every write queued behind it fails too. The broker then starts a
   * device's next pipelined send while this one's durable write is still under way, so a burst's
   * messages share one group commit instead of waiting out one each. An adapter that never calls it
   * keeps a device's sends one durable write apart.
   */
  appendDirect (message: NewDirectMessage, placed?: () => void): Promise<AppendResult>
  /**
   * Stores a group message once, in one write, referenced from the inbox of every member in
   * `members` (which must include the sender) and given the group's next cseq, so every member sees
   * the same order. Deduplicated like appendDirect. The members at this moment are the ones whose
   * delivery and reading make the message "delivered" and "read" for its sender.
   */
  appendGroup (message: NewGroupMessage, members: UserId[]): Promise<GroupAppendResult>
  /** Entries of a user's inbox with seq > afterSeq, oldest first, at most `limit`. */
  readInbox (userId: UserId, afterSeq: number, limit: number): Promise<InboxEntry[]>
  /** The highest seq of the user's inbox (0 when empty). */
  inboxHead (userId: UserId): Promise<number>
  /**
   * A device of `recipient` acknowledged the entry at `seq` of its inbox (what the delivery carries;
   * the wire has no server id). Delivered is a watermark per conversation: "every message to the
   * recipient up to cseq N has been acknowledged by one of its devices" (for a group: every message
   * up to N by every member it was stored for). An acknowledgement ahead of an earlier message not
   * yet acknowledged waits for it, so a watermark never claims a delivery that did not happen.
   * Recorded in memory, not written: resolves with the conversation whose delivery state moved, for
   * the caller to flushDelivered within its window, or undefined when nothing moved (not someone
   * else's message to `recipient`, already counted, or waiting behind an earlier one).
   */
  markDelivered (recipient: UserId, seq: number): Promise<string | undefined>
  /**
   * A device of `recipient` resumed from `cursor`: it holds every entry of the inbox up to there.
   * After a crash, acknowledgements recorded but not yet flushed are gone; this is where an adapter
   * recovers them (it may look back only a bounded way, and do nothing after a clean shutdown).
   * Resolves with the conversations whose delivery state moved.
   */
  markDeliveredUpTo (recipient: UserId, cursor: number): Promise<string[]>
  /**
   * Writes what moved in `conversation` since its last flush in one durable batch, with a delivered
   * receipt to each sender whose watermark moved ("delivered up to cseq N"; none when its read
   * receipt already covers N: statuses only move forward). Resolves with those receipts once
   * durable; [] when nothing moved. Flushes of one conversation apply in call order.
   */
  flushDelivered (conversation: string, ts: number): Promise<ReceiptEntry[]>
  /**
   * `reader` has read the conversation with `peer` (a user, or a group when `group`) up to `cseq`,
   * clamped to the conversation's head. Only forward: a watermark at or below the stored one
   * changes nothing ([]). Appends a read-by-me entry to the reader's inbox, and a read receipt to
   * the peer — for a group, to each sender whose messages have now been read by all their members.
   * Reading proves having: the reader's messages up to `cseq` count as delivered from then on.
   */
  markRead (reader: UserId, peer: UserId, cseq: number, ts: number, group?: boolean): Promise<ReceiptEntry[]>
  /**
   * The inbox seq up to which a device of the user acknowledged its deliveries, as last recorded;
   * undefined when nothing was recorded for it. The broker replays from here right after CONNACK,
   * so a reconnecting device needs no request round trip. It may lag what the device holds (see
   * advanceDeviceCursor) but never runs ahead of an acknowledgement.
   */
  deviceCursor (userId: UserId, deviceId: DeviceId): Promise<number | undefined>
  /**
   * The device acknowledged the inbox entry at `seq`; the cursor only moves forward. Kept in memory
   * and written in batches (not a synced write per PUBACK) and at close: a cursor that lags after a
   * crash only replays a few entries the SDK drops as duplicates.
   */
  advanceDeviceCursor (userId: UserId, deviceId: DeviceId, seq: number): void
  /** Messages of a conversation with cseq < before (all when before is 0), at most `limit`, with statuses as `userId` sees them. */
  history (userId: UserId, peer: UserId, before: number, limit: number, group?: boolean): Promise<HistoryPage>
}

export type PresencePrivacy = 0 | 1 | 2 // everyone, contacts, nobody

export interface Group {
  /** Assigned by the broker; never equal to a user id's namespace on the wire (groups have their own fields). */
  id: string
  name: string
  createdBy: UserId
  /** Unix seconds. */
  created: number
  /** Admins are members too. */
  admins: UserId[]
  members: UserId[]
}

/** A device's push token: one token per device, and one device per token. */
export interface PushToken {
  deviceId: DeviceId
  token: string
  platform: PushPlatform
}

/** The keys a device published for end-to-end encryption: its identity (Ed25519) and its signed prekey (X25519). */
export interface DeviceKeyRecord {
  device: DeviceId
  identityKey: Uint8Array
  signedPreKeyId: number
  signedPreKey: Uint8Array
  signature: Uint8Array
}

export interface OneTimePreKey {
  id: number
  key: Uint8Array
}

/** A device's keys with one of its one-time prekeys (none when they ran out) and how many are left after it. */
export interface PreKeyBundle extends DeviceKeyRecord {
  preKey?: OneTimePreKey
  remaining: number
}

/**
 * Users, their devices, groups, and what presence privacy needs (contacts, settings, last seen).
 * A user exists once it has authenticated. Every adapter passes test/storage/directory.contract.ts.
 */
export interface Directory {
  registerUser (userId: UserId): Promise<void>
  hasUser (userId: UserId): Promise<boolean>
  /** Records a device of a user (idempotent). */
  registerDevice (userId: UserId, deviceId: DeviceId): Promise<void>
  /** Device ids of a user, sorted. */
  devicesOf (userId: UserId): Promise<DeviceId[]>
  setPresencePrivacy (userId: UserId, privacy: PresencePrivacy): Promise<void>
  /** Default 0 (everyone). */
  presencePrivacy (userId: UserId): Promise<PresencePrivacy>
  addContact (userId: UserId, contact: UserId): Promise<void>
  removeContact (userId: UserId, contact: UserId): Promise<void>
  /** True when `contact` is in `userId`'s contacts. */
  hasContact (userId: UserId, contact: UserId): Promise<boolean>
  setLastSeen (userId: UserId, ts: number): Promise<void>
  lastSeen (userId: UserId): Promise<number | undefined>
  /** Stores a new group; false (and nothing changed) when the id is taken. */
  createGroup (group: Group): Promise<boolean>
  group (groupId: string): Promise<Group | undefined>
  /** Replaces a group's name, admins and members (the caller serialises changes to one group). */
  saveGroup (group: Group): Promise<void>
  /** Ids of the groups a user is a member of, sorted. */
  groupsOf (userId: UserId): Promise<string[]>
  /**
   * Binds `token` to the user's device, replacing the device's previous token; a token that another
   * device (of any user) held moves to this one. Callers pass the authenticated device only.
   */
  registerPushToken (userId: UserId, deviceId: DeviceId, token: string, platform: PushPlatform): Promise<void>
  /** Removes the device's token (nothing happens when it has none). */
  unregisterPushToken (userId: UserId, deviceId: DeviceId): Promise<void>
  /** The user's devices that have a push token, sorted by device id. */
  pushTokensOf (userId: UserId): Promise<PushToken[]>
  /** Removes `token` wherever it is registered (the push service called it dead); the user whose device held it. */
  removePushToken (token: string): Promise<UserId | undefined>

  // The key directory (end-to-end encryption). The broker stores public keys only.
  /**
   * Stores a device's keys. With the identity already stored it replaces the signed prekey and adds
   * the one-time prekeys (an id already held keeps its key); with a different identity it replaces
   * everything, dropping the old one-time prekeys. Resolves with whether a different identity was
   * replaced and how many one-time prekeys the device holds now.
   */
  publishDeviceKeys (userId: UserId, keys: DeviceKeyRecord, preKeys: OneTimePreKey[]): Promise<{ identityChanged: boolean, preKeys: number }>
  /** The keys of the user's devices that published some, sorted by device. */
  deviceKeys (userId: UserId): Promise<DeviceKeyRecord[]>
  /**
   * A bundle per device of the user with keys, except those in `except`, sorted by device. Each takes
   * one one-time prekey (the lowest id) atomically: concurrent callers never get the same one.
   */
  takeBundles (userId: UserId, except: readonly DeviceId[]): Promise<PreKeyBundle[]>
  /** One-time prekeys the device holds (0 for a device without keys). */
  preKeyCount (userId: UserId, deviceId: DeviceId): Promise<number>
  /** `watcher` fetched `userId`'s keys: it is told when one of them changes (idempotent). */
  addKeyWatcher (userId: UserId, watcher: UserId): Promise<void>
  /** Who fetched `userId`'s keys, sorted. */
  keyWatchers (userId: UserId): Promise<UserId[]>
}

/** Whether a store can acknowledge writes now; when it cannot, why, in one line (for /readyz and the log). */
export type StorageHealth = { ready: true } | { ready: false, reason: string }

export interface Storage {
  readonly messages: MessageStore
  readonly directory: Directory
  /** Resolves when every write accepted so far is durable. */
  flush (): Promise<void>
  /** Not ready while a failed write leaves the store suspect, or once damage was found (RetriableError meanwhile). */
  health (): StorageHealth
  /** Writes delivery state not yet flushed (its receipts wait in the inboxes), then closes. */
  close (): Promise<void>
}
