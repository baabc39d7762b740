import { crc32c, unmaskCrc } from './crc32c.js'

/** LevelDB's write-ahead log format (db/log_format.h): 32 KiB blocks of checksummed records. */
const BLOCK = 32768
const HEADER = 7
const FULL = 1
const FIRST = 2
const MIDDLE = 3
const LAST = 4
/** RecoverLogFile refuses a write batch shorter than its own header. */
const MIN_BATCH = 12

export interface LogDamage {
  /** Byte offset of the damaged record in the log file. */
  offset: number
  /** LevelDB's own words for it. */
  reason: string
}

/**
 * The first place where LevelDB, recovering this log, would report a corruption — and, without
 * paranoid checks (which classic-level does not expose), skip it and everything after it in its
 * block, and open as if nothing had happened. The walk is log::Reader's (leveldb 1.20,
 * db/log_reader.cc), so it calls damage exactly what LevelDB would skip. A record cut short at the
 * end of the file is not damage: it is a write that never completed, and was never acknowledged.
 */
export function findLogDamage (log: Uint8Array): LogDamage | undefined {
  const view = new DataView(log.buffer, log.byteOffset, log.byteLength)
  let inFragment = false
  let fragmentBytes = 0
  for (let block = 0; block < log.length; block += BLOCK) {
    const end = Math.min(block + BLOCK, log.length)
    // The reader knows it is at the end only after a short read.
    const eof = end - block < BLOCK
    let pos = block
    while (end - pos >= HEADER) {
      const length = log[pos + 4]! | (log[pos + 5]! << 8)
      const type = log[pos + 6]!
      const damage = (reason: string): LogDamage => ({ offset: pos, reason })
      if (HEADER + length > end - pos) return eof ? undefined : damage('bad record length')
      if (type === 0 && length === 0) {
        // Preallocated space: the rest of the block is skipped, silently unless inside a record.
        if (inFragment && fragmentBytes > 0) return damage('error in middle of record')
        break
      }
      if (unmaskCrc(view.getUint32(pos, true)) !== crc32c(log.subarray(pos + 6, pos + HEADER + length))) return damage('checksum mismatch')
      pos += HEADER + length
      switch (type) {
        case FULL:
        case FIRST:
          if (inFragment && fragmentBytes > 0) return damage(`partial record without end(${type === FULL ? 1 : 2})`)
          if (type === FULL && length < MIN_BATCH) return damage('log record too small')
          inFragment = type === FIRST
          fragmentBytes = length
          break
        case MIDDLE:
        case LAST:
          if (!inFragment) return damage(`missing start of fragmented record(${type === MIDDLE ? 1 : 2})`)
          fragmentBytes += length
          if (type === LAST) {
            if (fragmentBytes < MIN_BATCH) return damage('log record too small')
            inFragment = false
          }
          break
        default:
          return damage(`unknown record type ${type}`)
      }
    }
  }
  return undefined
}
