import { Decoder, Encoder } from 'cbor-x'
import { checkCborShape, type CborLimits } from './cbor-shape.js'
import { LowbandError } from './errors.js'

export type { CborLimits } from './cbor-shape.js'

// Plain CBOR only: no cbor-x records or typed-array tags, so any CBOR library on a device can
// speak the protocol. Maps decode as Map so integer keys stay integers. An integer with an 8-byte
// head decodes as a number, as one with a shorter head does (cbor-x's default makes it a BigInt,
// which no uint field takes, so a device whose library writes 2^40 in 8 bytes was refused); past
// 2^53 it rounds, and every uint field refuses it for being above Number.MAX_SAFE_INTEGER.
const encoder = new Encoder({ useRecords: false, tagUint8Array: false, mapsAsObjects: false, variableMapSize: true })
const decoder = new Decoder({ useRecords: false, mapsAsObjects: false, int64AsNumber: true } as ConstructorParameters<typeof Decoder>[0])

/**
 * The most structure any device → broker payload has: a map of scalars (a SendRequest, whose body
 * is one string), at most a map or array inside it (a request's args, a group's up to 1024
 * members), one tag around a value (devices whose CBOR library tags byte strings). Anything beyond
 * is refused before it is built.
 */
export const DEVICE_PAYLOAD_LIMITS: CborLimits = Object.freeze({ maxDepth: 4, maxEntries: 1024, maxContainers: 256, maxItems: 2048 })

export function encodeCbor (value: unknown): Uint8Array {
  return encoder.encode(value)
}

/**
 * Decodes exactly one CBOR item; trailing bytes or a broken item is BAD_ENCODING. With `limits`
 * (for anything a device sent), structure beyond them is BAD_ENVELOPE, found before decoding
 * builds anything.
 */
export function decodeCbor (bytes: Uint8Array, limits?: CborLimits): unknown {
  if (limits !== undefined) checkCborShape(bytes, limits)
  let items: unknown[]
  try {
    items = decoder.decodeMultiple(bytes) as unknown[]
  } catch (cause) {
    throw new LowbandError('BAD_ENCODING', undefined, { cause })
  }
  if (items.length !== 1) throw new LowbandError('BAD_ENCODING', `${items.length} items`)
  return items[0]
}
