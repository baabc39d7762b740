import { z } from 'zod'
import { decodeCbor, encodeCbor } from './cbor.js'
import { LowbandError } from './errors.js'

/**
 * An envelope is a CBOR map with small integer keys (one byte each on the wire, against 2+ for
 * string keys). Code works with named fields; this codec translates at the edge and validates
 * with zod, so a payload that decodes is also a payload that is well-formed.
 */
export type FieldTable = Record<string, number>

export interface EnvelopeCodec<T> {
  readonly keys: FieldTable
  encode (value: T): Uint8Array
  /** The integer-keyed map, to nest one envelope inside another. */
  toCbor (value: T): Map<number, unknown>
  decode (bytes: Uint8Array): T
  /** Validates an already decoded CBOR item. */
  fromCbor (item: unknown): T
}

export function defineEnvelope<S extends z.ZodObject> (keys: { [K in keyof z.infer<S>]-?: number }, schema: S): EnvelopeCodec<z.infer<S>> {
  type T = z.infer<S>
  const table = keys as FieldTable
  const nameOfKey = new Map<number, string>(Object.entries(table).map(([name, key]) => [key, name]))
  return {
    keys: table,
    encode (value: T): Uint8Array {
      return encodeCbor(this.toCbor(value))
    },
    toCbor (value: T): Map<number, unknown> {
      const map = new Map<number, unknown>()
      for (const [name, key] of Object.entries(table)) {
        const field = (value as Record<string, unknown>)[name]
        if (field !== undefined) map.set(key, field)
      }
      return map
    },
    decode (bytes: Uint8Array): T {
      return this.fromCbor(decodeCbor(bytes))
    },
    fromCbor (item: unknown): T {
      if (!(item instanceof Map)) throw new LowbandError('BAD_ENVELOPE', 'not a map')
      const named: Record<string, unknown> = {}
      for (const [key, field] of item) {
        const name = typeof key === 'number' ? nameOfKey.get(key) : undefined
        // Unknown keys are ignored so older brokers accept newer clients' optional fields.
        if (name !== undefined) named[name] = field
      }
      const parsed = schema.safeParse(named)
      if (!parsed.success) {
        const issue = parsed.error.issues[0]
        throw new LowbandError('BAD_ENVELOPE', issue === undefined ? undefined : `${issue.path.join('.')}: ${issue.message}`)
      }
      return parsed.data
    }
  }
}
