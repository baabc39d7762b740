import { isValidId, type DeviceId, type UserId } from './ids.js'

/**
 * Topic names of the chat namespace. Short on purpose: every byte of a topic is sent with every
 * PUBLISH. Three roots belong to chat: `c/` (commands a device sends to the broker; the sender is
 * the authenticated connection, so no user id is needed), `s/<to>` (a 1:1 message to `to`: the
 * recipient is the topic, not a payload field) and `u/<user>` (everything addressed to one user: a
 * device subscribes once to `u/<self>/#`, which matches `u/<self>` itself, the inbox
 * [MQTT-4.7.1-2]). `$lb/` is the broker's own, never reachable.
 */
export const COMMAND_ROOT = 'c/'
export const SEND_ROOT = 's/'
export const USER_ROOT = 'u/'
export const INTERNAL_ROOT = '$lb/'

export const COMMAND = {
  /** Send a group message (QoS 1); a 1:1 message goes to sendTopic(to) instead (`to` here is still accepted). */
  send: 'c/s',
  /** Ask for a replay of the inbox after a cursor. */
  resume: 'c/r',
  /** Read watermark: "I have read this conversation up to cseq N" (QoS 1). */
  read: 'c/d',
  /** Typing signal (QoS 0, never stored). */
  typing: 'c/t',
  /** Request/response: history, privacy, contacts (QoS 1; the answer comes on u/<self>/q). */
  request: 'c/q',
  /** Will topic: the broker marks the device offline when its will is published. */
  offline: 'c/o'
} as const

/** Where a client's accepted publish goes once its work is done: `$` topics match no wildcard. */
export const SINK_TOPIC = '$lb/sink'

/** Send a 1:1 message to `to` (QoS 1; the payload is a DirectSend). */
export function sendTopic (to: UserId): string {
  return `${SEND_ROOT}${to}`
}

/** True for a topic of the send root, well-formed or not (a malformed one is refused, not ignored). */
export function isSendTopic (topic: string): boolean {
  return topic.startsWith(SEND_ROOT)
}

/** The recipient of a send topic `s/<to>`, or undefined when the rest is not one valid user id. */
export function recipientOfSendTopic (topic: string): UserId | undefined {
  const to = topic.slice(SEND_ROOT.length)
  return isSendTopic(topic) && isValidId(to) ? to : undefined
}

export function userSubtree (userId: UserId): string {
  return `u/${userId}/#`
}

/**
 * Messages of the user's inbox, to every device of the user: the subtree's root itself, the
 * shortest topic a delivery can have (`u/<self>/#` matches it [MQTT-4.7.1-2]).
 */
export function inboxTopic (userId: UserId): string {
  return `u/${userId}`
}

/**
 * The sender's copy of its own message, to the sender's other devices. The origin device is in the
 * topic so the broker can skip it when forwarding; that device gets a compact stored-ack instead.
 */
export function echoTopic (userId: UserId, originDevice: DeviceId): string {
  return `u/${userId}/o/${originDevice}`
}

/** Stored-ack (✓): the server id and sequence of the sending device's message. */
export function ackTopic (userId: UserId): string {
  return `u/${userId}/a`
}

/** Coded errors, delivered to the device that caused them. */
export function errorTopic (userId: UserId): string {
  return `u/${userId}/e`
}

/** End of a resume replay. */
export function syncedTopic (userId: UserId): string {
  return `u/${userId}/y`
}

/** Delivered/read receipts and own read watermarks (QoS 1, stored in the inbox). */
export function receiptTopic (userId: UserId): string {
  return `u/${userId}/r`
}

/** Key-directory notices (one-time prekeys running low) for the user's devices (QoS 0). */
export function keysTopic (userId: UserId): string {
  return `u/${userId}/k`
}

/** Typing signals addressed to the user (QoS 0). */
export function typingTopic (userId: UserId): string {
  return `u/${userId}/t`
}

/** Responses to the device's requests (QoS 0; the SDK retries a request that got no answer). */
export function responseTopic (userId: UserId): string {
  return `u/${userId}/q`
}

/**
 * The most contacts one connection watches at once (`u/<self>/p/<contact>` subscriptions): a device
 * watches the chats it has open, a handful. Past it a watch is refused (SUBACK 0x80), so no
 * connection makes the broker hold and update an unbounded set of watches.
 */
export const MAX_WATCHES = 64

/**
 * A contact's presence, for a watcher. Subscribing to this topic (inside the watcher's own subtree)
 * is how a device starts watching; unsubscribing stops it.
 */
export function presenceTopic (watcher: UserId, contact: UserId): string {
  return `u/${watcher}/p/${contact}`
}

export type TopicKind = 'inbox' | 'echo' | 'ack' | 'error' | 'synced' | 'receipt' | 'typing' | 'response' | 'presence' | 'keys' | 'unknown'

/** Classifies a topic of the user's subtree (as a device receives it). */
export function classifyUserTopic (topic: string): { userId: UserId, kind: TopicKind, device?: DeviceId, contact?: UserId } | undefined {
  if (!topic.startsWith(USER_ROOT)) return undefined
  const parts = topic.split('/')
  const userId = parts[1]
  if (userId === undefined || userId === '') return undefined
  const leaf = parts[2]
  if (parts.length === 2) return { userId, kind: 'inbox' }
  if (parts.length === 3) {
    const kinds: Record<string, TopicKind> = { a: 'ack', e: 'error', y: 'synced', r: 'receipt', t: 'typing', q: 'response', k: 'keys' }
    return { userId, kind: (leaf !== undefined && kinds[leaf]) || 'unknown' }
  }
  if (parts.length === 4 && leaf === 'o' && parts[3] !== undefined) return { userId, kind: 'echo', device: parts[3] }
  if (parts.length === 4 && leaf === 'p' && parts[3] !== undefined) return { userId, kind: 'presence', contact: parts[3] }
  return { userId, kind: 'unknown' }
}

/** True for topics of the chat namespace (commands, sends and user subtrees). */
export function isChatTopic (topic: string): boolean {
  return topic.startsWith(COMMAND_ROOT) || topic.startsWith(SEND_ROOT) || topic.startsWith(USER_ROOT) || topic === 'c' || topic === 's' || topic === 'u'
}

/** True for topics reserved to brokers (`$SYS/…`, `$lb/…`): never published or subscribed by clients. */
export function isInternalTopic (topic: string): boolean {
  return topic.startsWith('$')
}
