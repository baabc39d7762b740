/** LevelDB key layout of the embedded store. Sequences are zero-padded so keys sort numerically. */
const SEQ_WIDTH = 15
const pad = (n: number): string => n.toString().padStart(SEQ_WIDTH, '0')

export const keys = {
  message: (id: string) => `m!${id}`,
  inbox: (userId: string, seq: number) => `i!${userId}!${pad(seq)}`,
  inboxRange: (userId: string) => ({ gt: `i!${userId}!`, lt: `i!${userId}!~` }),
  conversation: (conversation: string, cseq: number) => `c!${conversation}!${pad(cseq)}`,
  conversationRange: (conversation: string) => ({ gt: `c!${conversation}!`, lt: `c!${conversation}!~` }),
  dedup: (key: string) => `d!${key}`,
  /** Every message to `userId` in the conversation up to this cseq has been acknowledged by one of its devices. */
  deliveredTo: (conversation: string, userId: string) => `dv!${conversation}!${userId}`,
  /** Groups: every message up to this cseq has been acknowledged by every member it was stored for. */
  deliveredToAll: (conversation: string) => `da!${conversation}`,
  /** Groups: every message up to this cseq has been read by all its members. */
  readByAll: (conversation: string) => `ra!${conversation}`,
  watermark: (conversation: string, reader: string) => `w!${conversation}!${reader}`,
  /** Present while a process has the store open: found at open, the last one did not close it (a crash). */
  openMarker: 's!open',
  /** Written by `lowband repair`: LevelDB rebuilt the store, so a sequence may have holes (repaired.ts). */
  repairedMarker: 's!repaired',
  user: (userId: string) => `u!${userId}`,
  contact: (userId: string, contact: string) => `k!${userId}!${contact}`,
  device: (userId: string, deviceId: string) => `e!${userId}!${deviceId}`,
  /** The inbox seq up to which a device acknowledged its deliveries (written in batches). */
  deviceCursor: (userId: string, deviceId: string) => `dc!${userId}!${deviceId}`,
  deviceRange: (userId: string) => ({ gt: `e!${userId}!`, lt: `e!${userId}!~` }),
  group: (groupId: string) => `g!${groupId}`,
  membership: (userId: string, groupId: string) => `n!${userId}!${groupId}`,
  membershipRange: (userId: string) => ({ gt: `n!${userId}!`, lt: `n!${userId}!~` }),
  /** A device's push token, and the index from a token to the device holding it. */
  pushToken: (userId: string, deviceId: string) => `pt!${userId}!${deviceId}`,
  pushTokenRange: (userId: string) => ({ gt: `pt!${userId}!`, lt: `pt!${userId}!~` }),
  pushTokenOwner: (token: string) => `po!${token}`,
  /** The key directory: a device's keys, its one-time prekeys by id (lowest first), who fetched a user's keys. */
  deviceKeys: (userId: string, deviceId: string) => `x!${userId}!${deviceId}`,
  deviceKeysRange: (userId: string) => ({ gt: `x!${userId}!`, lt: `x!${userId}!~` }),
  preKey: (userId: string, deviceId: string, id: number) => `xo!${userId}!${deviceId}!${pad(id)}`,
  preKeyRange: (userId: string, deviceId: string) => ({ gt: `xo!${userId}!${deviceId}!`, lt: `xo!${userId}!${deviceId}!~` }),
  keyWatcher: (userId: string, watcher: string) => `xw!${userId}!${watcher}`,
  keyWatcherRange: (userId: string) => ({ gt: `xw!${userId}!`, lt: `xw!${userId}!~` })
}

/** The last `!`-separated part of a key: the device or group id of an index key. */
export function lastPartOfKey (key: string): string {
  return key.slice(key.lastIndexOf('!') + 1)
}

/** The key of entry 1 of an inbox or conversation range: a sequence's first number. */
export function firstKeyOf (range: { gt: string }): string {
  return range.gt + pad(1)
}

export function seqOfKey (key: string): number {
  return Number(key.slice(key.lastIndexOf('!') + 1))
}
