import { describe, expect, it } from 'vitest'
import { ReadCache } from '../../storage/embedded/read-cache.js'
import { encodeRecord } from '../../storage/embedded/record-codec.js'

describe('read cache', () => {
  it('tells a cached value, a known absence and an unknown key apart', () => {
    const cache = new ReadCache(10)
    cache.set('m!1', Uint8Array.of(1))
    cache.set('v!1', null)
    expect(cache.get('m!1')).toEqual(Uint8Array.of(1))
    expect(cache.get('v!1')).toBeNull()
    expect(cache.get('v!2')).toBeUndefined()
    // An empty value is a value, not an absence.
    cache.set('w!1', new Uint8Array(0))
    expect(cache.get('w!1')).toEqual(new Uint8Array(0))
  })

  it('evicts the least recently used key once full', () => {
    const cache = new ReadCache(2)
    cache.set('a', Uint8Array.of(1))
    cache.set('b', Uint8Array.of(2))
    cache.get('a')
    cache.set('c', Uint8Array.of(3))
    expect(cache.get('b')).toBeUndefined()
    expect(cache.get('a')).toEqual(Uint8Array.of(1))
    expect(cache.get('c')).toEqual(Uint8Array.of(3))
  })

  it('keeps a small value encoded after a large record as a copy, not a view of the encoder\'s buffer', () => {
    encodeRecord({ body: 'x'.repeat(16_000) })
    const slot = encodeRecord({ m: 'message-id' })
    // cbor-x hands out views into its target, which it grew for the large record.
    expect(slot.buffer.byteLength).toBeGreaterThan(64 * 1024)
    const cache = new ReadCache(10)
    cache.set('i!bob!1', slot)
    const kept = cache.get('i!bob!1')!
    expect(kept).toEqual(slot)
    expect(kept.buffer.byteLength).toBeLessThanOrEqual(Buffer.poolSize)
  })
})
