import { Decoder, Encoder } from 'cbor-x'
import { LowbandError } from './errors.js'

// Plain CBOR only: no cbor-x records or typed-array tags, so any CBOR library on a device can
// speak the protocol. Maps decode as Map so integer keys stay integers.
const encoder = new Encoder({ useRecords: false, tagUint8Array: false, mapsAsObjects: false, variableMapSize: true })
const decoder = new Decoder({ useRecords: false, mapsAsObjects: false })

export function encodeCbor (value: unknown): Uint8Array {
  return encoder.encode(value)
}

/** Decodes exactly one CBOR item; trailing bytes or a broken item is BAD_ENCODING. */
export function decodeCbor (bytes: Uint8Array): unknown {
  let items: unknown[]
  try {
    items = decoder.decodeMultiple(bytes) as unknown[]
  } catch (cause) {
    throw new LowbandError('BAD_ENCODING', undefined, { cause })
  }
  if (items.length !== 1) throw new LowbandError('BAD_ENCODING', `${items.length} items`)
  return items[0]
}
