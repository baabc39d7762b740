import { readLog } from './log-reader.js'

/** What a MANIFEST says the store is: the tables that are live, by number, with their sizes, and the logs still to replay. */
export interface LiveFiles {
  /** Write-ahead logs numbered at or above this one (or equal to prevLogNumber) are replayed at open. */
  logNumber: number
  prevLogNumber: number
  /** Live table number → its size in bytes. */
  tables: Map<number, number>
}

/** VersionEdit tags (leveldb 1.20, db/version_edit.cc). */
const TAG = { comparator: 1, logNumber: 2, nextFileNumber: 3, lastSequence: 4, compactPointer: 5, deletedFile: 6, newFile: 7, prevLogNumber: 9 }

/**
 * Replays the version edits of a MANIFEST as VersionSet::Recover does. Undefined when it does not
 * read cleanly: LevelDB's open then fails and names the damage itself.
 */
export function readManifest (manifest: Uint8Array): LiveFiles | undefined {
  const { records, damage } = readLog(manifest)
  if (damage !== undefined) return undefined
  const live: LiveFiles = { logNumber: 0, prevLogNumber: 0, tables: new Map() }
  try {
    for (const { bytes } of records) applyEdit(new Cursor(bytes), live)
  } catch {
    return undefined
  }
  return live
}

function applyEdit (edit: Cursor, live: LiveFiles): void {
  while (!edit.done) {
    switch (edit.varint()) {
      case TAG.comparator: edit.slice(); break
      case TAG.logNumber: live.logNumber = edit.varint(); break
      case TAG.prevLogNumber: live.prevLogNumber = edit.varint(); break
      case TAG.nextFileNumber: case TAG.lastSequence: edit.varint(); break
      case TAG.compactPointer: edit.varint(); edit.slice(); break
      case TAG.deletedFile: edit.varint(); live.tables.delete(edit.varint()); break
      case TAG.newFile: {
        edit.varint()
        const number = edit.varint()
        live.tables.set(number, edit.varint())
        edit.slice()
        edit.slice()
        break
      }
      default: throw new Error('unknown version edit tag')
    }
  }
}

/** Reads LevelDB's varints (up to 2^53, far above any file number or size) and length-prefixed slices. */
class Cursor {
  readonly #bytes: Uint8Array
  #pos = 0

  constructor (bytes: Uint8Array) {
    this.#bytes = bytes
  }

  get done (): boolean {
    return this.#pos >= this.#bytes.length
  }

  varint (): number {
    let value = 0
    for (let shift = 1; ; shift *= 128) {
      if (this.#pos >= this.#bytes.length || shift > 2 ** 49) throw new Error('bad varint')
      const byte = this.#bytes[this.#pos++]!
      value += (byte & 0x7f) * shift
      if (byte < 0x80) return value
    }
  }

  slice (): void {
    const length = this.varint()
    if (this.#pos + length > this.#bytes.length) throw new Error('bad slice')
    this.#pos += length
  }
}
