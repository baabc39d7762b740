/** LevelDB key layout of the embedded store. Sequences are zero-padded so keys sort numerically. */
const SEQ_WIDTH = 15

export const keys = {
  message: (id: string) => `m!${id}`,
  inbox: (userId: string, seq: number) => `i!${userId}!${seq.toString().padStart(SEQ_WIDTH, '0')}`,
  inboxRange: (userId: string) => ({ gt: `i!${userId}!`, lt: `i!${userId}!~` }),
  dedup: (key: string) => `d!${key}`,
  user: (userId: string) => `u!${userId}`
}

export function seqOfInboxKey (key: string): number {
  return Number(key.slice(key.lastIndexOf('!') + 1))
}
