import { createHash } from 'node:crypto'

/** FCM refuses a data payload of 4096 bytes or more. */
export const PUSH_DATA_LIMIT = 4096

/**
 * The keys of a push's data, short because a phone on 2G pays for every byte (docs/PROTOCOL.md,
 * "Push"). Values are strings: FCM data carries nothing else.
 */
export const PUSH_DATA_KEYS = {
  /** The conversation: the peer's user id, or the group id. */
  conversation: 'c',
  /** "1" when `c` is a group; absent for a 1:1 conversation. */
  group: 'g',
  /** The newest cseq stored for the device in that conversation. */
  cseq: 'q',
  /** The user's unread count (see unread.ts). */
  unread: 'n'
} as const

export interface PushContent {
  conversation: string
  group: boolean
  cseq: number
  unread: number
}

/** The data of a push, asserted under FCM's limit (ids are at most 64 characters: it always is). */
export function pushData (content: PushContent): Record<string, string> {
  const data: Record<string, string> = {
    [PUSH_DATA_KEYS.conversation]: content.conversation,
    ...(content.group ? { [PUSH_DATA_KEYS.group]: '1' } : {}),
    [PUSH_DATA_KEYS.cseq]: String(content.cseq),
    [PUSH_DATA_KEYS.unread]: String(content.unread)
  }
  const bytes = Buffer.byteLength(JSON.stringify(data))
  if (bytes >= PUSH_DATA_LIMIT) throw new RangeError(`push data of ${bytes} bytes: FCM takes less than ${PUSH_DATA_LIMIT}`)
  return data
}

/** APNs refuses an apns-collapse-id longer than 64 bytes. */
const COLLAPSE_LIMIT = 64

/**
 * One collapse key per conversation (`u:<peer>` or `g:<group>`), so a phone that was off holds one
 * push per conversation. A key past APNs' 64 bytes becomes a hash of itself, still one per conversation.
 */
export function collapseKeyOf (conversation: string, group: boolean): string {
  const key = `${group ? 'g' : 'u'}:${conversation}`
  return Buffer.byteLength(key) <= COLLAPSE_LIMIT ? key : `h:${createHash('sha256').update(key).digest('base64url')}`
}
