import { crc32c, unmaskCrc } from './crc32c.js'

/** LevelDB's write-ahead log format (db/log_format.h): 32 KiB blocks of checksummed records. */
const BLOCK = 32768
const HEADER = 7
const FULL = 1
const FIRST = 2
const MIDDLE = 3
const LAST = 4
/** RecoverLogFile skips a write batch shorter than its own header. */
const MIN_BATCH = 12

export interface LogDamage {
  /** Byte offset of the damaged record in the log file. */
  offset: number
  /** LevelDB's own words for it. */
  reason: string
}

export interface LogContents {
  /** The logical records read before any damage (write batches in a write-ahead log, version edits in a MANIFEST). */
  records: Array<{ offset: number, bytes: Uint8Array }>
  damage?: LogDamage
}

/**
 * Reads a LevelDB log (a write-ahead log or a MANIFEST) as leveldb 1.20's log::Reader does
 * (db/log_reader.cc), up to the first place where it would report a corruption — and, for a
 * write-ahead log without paranoid checks (which classic-level does not expose), skip the record
 * and the rest of its block and carry on as if nothing had happened. A record cut short at the end
 * of the file is not damage: it is a write that never completed, and was never acknowledged.
 */
export function readLog (log: Uint8Array): LogContents {
  const view = new DataView(log.buffer, log.byteOffset, log.byteLength)
  const records: LogContents['records'] = []
  let inFragment = false
  let fragments: Uint8Array[] = []
  let start = 0
  for (let block = 0; block < log.length; block += BLOCK) {
    const end = Math.min(block + BLOCK, log.length)
    // The reader knows it is at the end only after a short read.
    const eof = end - block < BLOCK
    let pos = block
    while (end - pos >= HEADER) {
      const length = log[pos + 4]! | (log[pos + 5]! << 8)
      const type = log[pos + 6]!
      const damaged = (reason: string): LogContents => ({ records, damage: { offset: pos, reason } })
      if (HEADER + length > end - pos) return eof ? { records } : damaged('bad record length')
      if (type === 0 && length === 0) {
        // Preallocated space: the rest of the block is skipped, silently unless inside a record.
        if (inFragment && fragments.some((f) => f.length > 0)) return damaged('error in middle of record')
        break
      }
      if (unmaskCrc(view.getUint32(pos, true)) !== crc32c(log.subarray(pos + 6, pos + HEADER + length))) return damaged('checksum mismatch')
      const fragment = log.subarray(pos + HEADER, pos + HEADER + length)
      pos += HEADER + length
      switch (type) {
        case FULL:
        case FIRST:
          if (inFragment && fragments.some((f) => f.length > 0)) return damaged(`partial record without end(${type === FULL ? 1 : 2})`)
          inFragment = type === FIRST
          fragments = [fragment]
          start = pos - HEADER - length
          if (type === FULL) records.push({ offset: start, bytes: fragment })
          break
        case MIDDLE:
        case LAST:
          if (!inFragment) return damaged(`missing start of fragmented record(${type === MIDDLE ? 1 : 2})`)
          fragments.push(fragment)
          if (type === LAST) {
            records.push({ offset: start, bytes: Buffer.concat(fragments) })
            inFragment = false
          }
          break
        default:
          return damaged(`unknown record type ${type}`)
      }
    }
  }
  return { records }
}

/**
 * The first place where LevelDB, recovering this write-ahead log, would skip something: a damaged
 * record, or a write batch shorter than its own header (RecoverLogFile's "log record too small").
 */
export function findLogDamage (log: Uint8Array): LogDamage | undefined {
  const { records, damage } = readLog(log)
  if (damage !== undefined) return damage
  const small = records.find((record) => record.bytes.length < MIN_BATCH)
  return small === undefined ? undefined : { offset: small.offset, reason: 'log record too small' }
}
