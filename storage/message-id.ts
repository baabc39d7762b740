/**
 * Server message ids: time-ordered and short (12 characters, base 36) — milliseconds since the
 * epoch, a per-millisecond counter and two random characters so that ids stay unique across
 * restarts even when the clock steps back. The random part guards against collisions, not guessing,
 * so Math.random does (crypto.randomBytes cost 4 % of the main thread under load).
 */
export function createMessageIdGenerator (now: () => number = Date.now): () => string {
  let lastMs = 0
  let counter = 0
  return () => {
    const ms = Math.max(now(), lastMs)
    counter = ms === lastMs ? counter + 1 : 0
    lastMs = ms
    const random = Math.floor(Math.random() * 1296)
    return ms.toString(36).padStart(8, '0') + (counter % 1296).toString(36).padStart(2, '0') + random.toString(36).padStart(2, '0')
  }
}

/** The key under which a client message id is deduplicated: per sending device. */
export function dedupKey (from: string, fromDevice: string, clientMsgId: Uint8Array | string | number): string {
  if (typeof clientMsgId === 'number') return `${from}/${fromDevice}/n${clientMsgId}`
  if (typeof clientMsgId === 'string') return `${from}/${fromDevice}/s${clientMsgId}`
  return `${from}/${fromDevice}/b${Buffer.from(clientMsgId).toString('hex')}`
}
