import { describe, expect, it } from 'vitest'
import type { StoredRecord } from '../../storage/embedded/core.js'
import { RecordCache, recordBytes } from '../../storage/embedded/record-cache.js'

function record (id: string, body: string | Uint8Array, clientMsgId: string | Uint8Array = 'c1'): StoredRecord {
  return {
    message: { id, conversation: 'alice|bob', cseq: 1, from: 'alice', fromDevice: 'phone', to: 'bob', body, kind: 0, ts: 1, clientMsgId },
    seqs: { alice: 1, bob: 1 }
  }
}

describe('record cache', () => {
  it('holds at most its byte budget of records, dropping the least recently used', () => {
    const cache = new RecordCache(20_000, 2 ** 20)
    for (let i = 0; i < 100; i++) cache.set(`m${i}`, record(`m${i}`, new Uint8Array(64 * 1024)))
    expect(cache.bytes).toBeLessThanOrEqual(2 ** 20)
    expect(cache.get('m99')).toBeDefined()
    expect(cache.get('m0')).toBeUndefined()
    // Small records are bounded by count, as before.
    const small = new RecordCache(10, 2 ** 20)
    for (let i = 0; i < 20; i++) small.set(`s${i}`, record(`s${i}`, 'hi'))
    expect(small.get('s9')).toBeUndefined()
    expect(small.get('s19')?.message.body).toBe('hi')
    expect(small.bytes).toBe(10 * recordBytes(record('s10', 'hi')))
  })

  it('keeps a copy of bytes that were a view into a larger chunk, not the chunk', () => {
    const chunk = new Uint8Array(128 * 1024).fill(7)
    const body = chunk.subarray(1000, 17_000)
    const id = chunk.subarray(17_000, 17_008)
    const cache = new RecordCache(10, 2 ** 20)
    cache.set('m1', record('m1', body, id))
    const kept = cache.get('m1')!.message
    expect(Buffer.from(kept.body as Uint8Array).equals(body)).toBe(true)
    expect((kept.body as Uint8Array).buffer.byteLength).toBe(16_000)
    expect((kept.clientMsgId as Uint8Array).buffer.byteLength).toBeLessThanOrEqual(Buffer.poolSize)
    // Bytes that own their buffer, and strings, are kept as they are.
    const own = record('m2', new Uint8Array(100))
    cache.set('m2', own)
    expect(cache.get('m2')).toBe(own)
  })
})
