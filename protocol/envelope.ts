import { z } from 'zod'
import { decodeCbor, encodeCbor } from './cbor.js'
import { LowbandError } from './errors.js'

/**
 * An envelope is a CBOR map with small integer keys (one byte each on the wire, against 2+ for
 * string keys) or, for the envelopes of every message (`positional`), a CBOR array whose elements
 * are the fields in a fixed order: no key bytes at all, `null` for an absent field before a present
 * one, trailing absent fields left off. Code works with named fields; this codec translates at the
 * edge and validates with zod, so a payload that decodes is also a payload that is well-formed.
 */
export type FieldTable = Record<string, number>

export interface EnvelopeCodec<T> {
  readonly keys: FieldTable
  /** The order of fields in the array form, when the envelope is sent as one. */
  readonly positional?: readonly string[]
  encode (value: T): Uint8Array
  /** The integer-keyed map, to nest one envelope inside another. */
  toCbor (value: T): Map<number, unknown>
  decode (bytes: Uint8Array): T
  /** Validates an already decoded CBOR item: the keyed map, or the array form of a positional envelope. */
  fromCbor (item: unknown): T
  /** One field of a decoded item, unvalidated (to name a refused payload's client message id). */
  rawField (item: unknown, name: keyof T & string): unknown
}

export interface EnvelopeLayout<T> {
  /** Every field in its array position; the array form is what `encode` sends. New fields go at the end. */
  positional?: ReadonlyArray<keyof T & string>
  /** Values left off the wire (an absent field decodes as its default). */
  defaults?: Partial<T>
  /**
   * A hand-written check for the common shape of a hot envelope, run before zod: true only for
   * fields the schema accepts as they are, so validation stays the schema's; anything else goes
   * through zod, which finds the error and its message.
   */
  accepts?: (named: Record<string, unknown>) => boolean
}

export function defineEnvelope<S extends z.ZodObject> (keys: { [K in keyof z.infer<S>]-?: number }, schema: S, layout: EnvelopeLayout<z.infer<S>> = {}): EnvelopeCodec<z.infer<S>> {
  type T = z.infer<S>
  const table = keys as FieldTable
  const nameOfKey = new Map<number, string>(Object.entries(table).map(([name, key]) => [key, name]))
  const order = layout.positional as readonly string[] | undefined
  const defaults = Object.entries((layout.defaults ?? {}) as Record<string, unknown>)
  const { accepts } = layout
  const named = (item: unknown): Record<string, unknown> => {
    const fields: Record<string, unknown> = {}
    if (item instanceof Map) {
      for (const [key, field] of item) {
        const name = typeof key === 'number' ? nameOfKey.get(key) : undefined
        // Unknown keys are ignored so older brokers accept newer clients' optional fields.
        if (name !== undefined) fields[name] = field
      }
    } else if (order !== undefined && Array.isArray(item)) {
      // Elements past the known ones are ignored, as unknown keys are.
      const length = Math.min(item.length, order.length)
      for (let i = 0; i < length; i++) {
        const field: unknown = item[i]
        if (field !== null && field !== undefined) fields[order[i]!] = field
      }
    } else {
      throw new LowbandError('BAD_ENVELOPE', order === undefined ? 'not a map' : 'not an array or map')
    }
    for (const [name, value] of defaults) if (!(name in fields)) fields[name] = value
    return fields
  }
  return {
    keys: table,
    ...(order === undefined ? {} : { positional: order }),
    encode (value: T): Uint8Array {
      if (order === undefined) return encodeCbor(this.toCbor(value))
      const fields = value as Record<string, unknown>
      const array: unknown[] = []
      for (let i = 0; i < order.length; i++) {
        const name = order[i]!
        const field = fields[name]
        if (field === undefined || defaults.some(([n, d]) => n === name && d === field)) continue
        while (array.length < i) array.push(null)
        array.push(field)
      }
      return encodeCbor(array)
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
      const fields = named(item)
      if (accepts?.(fields) === true) return fields as T
      const parsed = schema.safeParse(fields)
      if (!parsed.success) {
        const issue = parsed.error.issues[0]
        throw new LowbandError('BAD_ENVELOPE', issue === undefined ? undefined : `${issue.path.join('.')}: ${issue.message}`)
      }
      return parsed.data
    },
    rawField (item: unknown, name: keyof T & string): unknown {
      if (item instanceof Map) return item.get(table[name])
      const position = order?.indexOf(name) ?? -1
      return Array.isArray(item) && position >= 0 ? item[position] : undefined
    }
  }
}
