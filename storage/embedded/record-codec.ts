import { Decoder, Encoder } from 'cbor-x'

// Records on disk are plain CBOR maps with string keys: readable by any CBOR tool, and
// independent of the wire envelopes' integer keys.
const encoder = new Encoder({ useRecords: false, tagUint8Array: false })
const decoder = new Decoder({ useRecords: false, mapsAsObjects: true })

export function encodeRecord (record: unknown): Uint8Array {
  return encoder.encode(record)
}

export function decodeRecord<T> (bytes: Uint8Array): T {
  return decoder.decode(bytes) as T
}
