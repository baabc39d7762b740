import { describe, expect, it } from 'vitest'
import { encodeCbor } from '../../protocol/cbor.js'
import { decodeMediaBody, MAX_THUMBNAIL_BYTES, MediaRef } from '../../protocol/media.js'

const ref = { id: new Uint8Array(12).fill(1), sha256: new Uint8Array(32).fill(2), size: 1234, mime: 'audio/ogg', duration: 4200 }

describe('MediaRef', () => {
  it('round-trips with integer keys and leaves absent fields off the wire', () => {
    const bytes = MediaRef.encode(ref)
    const decoded = decodeMediaBody(bytes)
    expect(decoded).toMatchObject({ size: 1234, mime: 'audio/ogg', duration: 4200 })
    expect(new Uint8Array(decoded.sha256)).toEqual(ref.sha256)
    expect(decoded.thumbnail).toBeUndefined()
    expect([...MediaRef.toCbor(ref).keys()]).toEqual([1, 2, 3, 4, 5])
  })

  it('refuses what no media message may carry', () => {
    const bad = [
      { ...ref, sha256: new Uint8Array(31) },
      { ...ref, id: new Uint8Array(4) },
      { ...ref, mime: 'jpeg' },
      { ...ref, mime: 'image/jpeg; charset=x' },
      { ...ref, thumbnail: new Uint8Array(MAX_THUMBNAIL_BYTES + 1) },
      { ...ref, size: -1 }
    ]
    for (const value of bad) expect(() => decodeMediaBody(encodeCbor(MediaRef.toCbor(value as MediaRef))), JSON.stringify(value.mime)).toThrow(expect.objectContaining({ errorName: 'BAD_ENVELOPE' }))
    expect(() => decodeMediaBody('text')).toThrow(expect.objectContaining({ errorName: 'BAD_ENVELOPE' }))
    expect(() => decodeMediaBody(new Uint8Array([0xff]))).toThrow(expect.objectContaining({ errorName: 'BAD_ENCODING' }))
    expect(decodeMediaBody(MediaRef.encode({ ...ref, thumbnail: new Uint8Array(MAX_THUMBNAIL_BYTES) })).thumbnail?.length).toBe(MAX_THUMBNAIL_BYTES)
  })
})
