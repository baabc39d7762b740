import { LRUCache } from 'lru-cache'
import type { StoredRecord } from './core.js'
import { ownedBytes } from './owned-bytes.js'

/** What a record costs beside its strings and bytes: the objects, the seqs map, the cache's slot. */
const RECORD_OVERHEAD_BYTES = 400

/** A record's approximate heap footprint, bytes. */
export function recordBytes (record: StoredRecord): number {
  const { message } = record
  return RECORD_OVERHEAD_BYTES + sizeOf(message.body) + sizeOf(message.clientMsgId) +
    message.id.length + message.conversation.length + message.from.length + message.to.length + message.fromDevice.length +
    32 * ((record.recipients?.length ?? 0) + Object.keys(record.seqs).length)
}

function sizeOf (value: unknown): number {
  if (typeof value === 'string') return value.length
  return value instanceof Uint8Array ? value.byteLength : 8
}

/**
 * Recent message records, decoded, bounded by count and by bytes: 20 000 records of 64 KiB bodies
 * would otherwise hold 1.25 GiB, and a store taking large messages would grow the broker without
 * bound. A miss costs one synchronous LevelDB read, so evicting large records early is cheap.
 */
export class RecordCache {
  readonly #entries: LRUCache<string, StoredRecord>

  constructor (maxEntries: number, maxBytes: number) {
    this.#entries = new LRUCache({ max: maxEntries, maxSize: maxBytes, sizeCalculation: recordBytes })
  }

  get (id: string): StoredRecord | undefined {
    return this.#entries.get(id)
  }

  set (id: string, record: StoredRecord): void {
    const { message } = record
    // A record decoded from a device's PUBLISH holds views into the socket chunk it arrived in.
    const body = ownedBytes(message.body)
    const clientMsgId = ownedBytes(message.clientMsgId)
    const kept = body === message.body && clientMsgId === message.clientMsgId ? record : { ...record, message: { ...message, body, clientMsgId } }
    this.#entries.set(id, kept)
  }

  /** Bytes held, as recordBytes counts them. */
  get bytes (): number {
    return this.#entries.calculatedSize
  }

  clear (): void {
    this.#entries.clear()
  }
}
