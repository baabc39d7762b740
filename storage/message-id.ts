import { randomInt } from 'node:crypto'

/** Ids one generator can mint in one millisecond before it borrows the next one. */
const PER_MS = 36 ** 2

/**
 * Server message ids: time-ordered and short (15 characters, base 36) — milliseconds since the
 * epoch, a per-millisecond counter, and a tag drawn once per generator (36^5 ≈ 60 million values).
 * Within one process the time and counter alone are unique: past PER_MS ids in one millisecond, or
 * while the clock stands still or steps back, the generator moves on to the next millisecond rather
 * than repeat one. The tag keeps ids apart across processes: nodes sharing one store (PostgreSQL,
 * Cassandra) mint in the same millisecond all the time, and a restarted process may see an earlier
 * clock. A random part drawn per id (2 characters, as before) collided between two nodes about
 * once in 1296 such mints: every second or two at 1000 msg/s per node.
 */
export function createMessageIdGenerator (now: () => number = Date.now, tag: string = generatorTag()): () => string {
  let lastMs = 0
  let counter = 0
  return () => {
    let ms = Math.max(now(), lastMs)
    if (ms > lastMs) {
      counter = 0
    } else if (++counter === PER_MS) {
      ms++
      counter = 0
    }
    lastMs = ms
    return ms.toString(36).padStart(8, '0') + counter.toString(36).padStart(2, '0') + tag
  }
}

/** A generator's tag: five base-36 characters from the system's random source. */
function generatorTag (): string {
  return randomInt(36 ** 5).toString(36).padStart(5, '0')
}

/** Text a dedup key may carry as it is: printable ASCII. */
const PLAIN_TEXT = /^[\x20-\x7e]*$/

/**
 * The key under which a client message id is deduplicated: per sending device, and ASCII whatever
 * the id holds. Text ids of other characters go in hex (under `u`, so they never meet a plain
 * one): PostgreSQL refuses NUL in a text column (SQLSTATE 22021, which the device would be told
 * to resend forever), and classic-level 3.0's getSync cuts a utf8 key that outgrows its shared
 * buffer at a character boundary, so a resend of an id of 4-byte characters was looked up under a
 * shorter key and stored twice.
 */
export function dedupKey (from: string, fromDevice: string, clientMsgId: Uint8Array | string | number): string {
  if (typeof clientMsgId === 'number') return `${from}/${fromDevice}/n${clientMsgId}`
  if (typeof clientMsgId === 'string') {
    return PLAIN_TEXT.test(clientMsgId) ? `${from}/${fromDevice}/s${clientMsgId}` : `${from}/${fromDevice}/u${Buffer.from(clientMsgId).toString('hex')}`
  }
  return `${from}/${fromDevice}/b${Buffer.from(clientMsgId).toString('hex')}`
}
