import { LowbandError } from './errors.js'

/**
 * How much structure a CBOR item may have. Decoding allocates per container and per item, so an
 * item of tiny elements costs far more than its size suggests: 64 KiB of empty maps took ~29 ms of
 * the main thread to decode, where a 64 KiB string takes a few microseconds. An item within these
 * limits costs a small constant per item, bounded however large it is.
 */
export interface CborLimits {
  /** Arrays, maps and tags nested in each other; an item at the top that is a map counts 1 (a map under tag 259 too). */
  readonly maxDepth: number
  /** Elements of one array, or pairs of one map. */
  readonly maxEntries: number
  /** Arrays and maps in the whole item. */
  readonly maxContainers: number
  /** Data items in the whole item: every element, key, value and tag counts one. */
  readonly maxItems: number
}

/** CBOR's major types (RFC 8949, 3.1). */
const MAJOR = { uint: 0, negint: 1, bytes: 2, text: 3, array: 4, map: 5, tag: 6, simple: 7 } as const
/** CBOR tag 259: a map whose keys may be of any type (cbor-x writes it on a Map). */
const MAP_TAG = 259
/** Additional information 31: indefinite length, or "break" in major type 7. */
const INDEFINITE = 31
const BREAK = 0xff

/**
 * Checks that `bytes` are exactly one well-formed, valid CBOR item within `limits`, reading the
 * heads of its items and the bytes of its text strings only (nothing is built): a malformed item,
 * trailing bytes, text that is not UTF-8 or a map with a key twice is BAD_ENCODING, structure beyond
 * the limits BAD_ENVELOPE. It stops at the first excess, so its cost is bounded by the limits and
 * the payload's size, never more.
 *
 * Validity matters because the decoder (cbor-x) forgives what it should not: it decodes invalid
 * UTF-8 (a lone surrogate too) as U+FFFD, so a message would be stored other than it was sent, and
 * keeps the last of two equal map keys, so two readers of one payload could disagree on what it
 * says (RFC 8949, 5.6: a map with duplicate keys is not valid).
 */
export function checkCborShape (bytes: Uint8Array, limits: CborLimits): void {
  const walk = new ShapeWalk(bytes, limits)
  walk.item(0)
  if (walk.pos !== bytes.length) malformed(`${bytes.length - walk.pos} bytes after the item`)
}

/** Bytes that follow a head for its argument, by additional information 24 to 27. */
const ARGUMENT_BYTES = [1, 2, 4, 8]

class ShapeWalk {
  pos = 0
  #items = 0
  #containers = 0
  readonly #bytes: Uint8Array
  readonly #limits: CborLimits

  constructor (bytes: Uint8Array, limits: CborLimits) {
    this.#bytes = bytes
    this.#limits = limits
  }

  item (depth: number): void {
    if (++this.#items > this.#limits.maxItems) tooMuch(`more than ${this.#limits.maxItems} data items`)
    const head = this.#next()
    const major = head >> 5
    const info = head & 31
    switch (major) {
      case MAJOR.uint:
      case MAJOR.negint:
        if (info === INDEFINITE) malformed('indefinite integer')
        this.#argument(info)
        return
      case MAJOR.bytes:
      case MAJOR.text: {
        // Strings in chunks (RFC 8949, 3.2.3) are legal CBOR that the decoder (cbor-x) does not read.
        if (info === INDEFINITE) malformed('indefinite-length string')
        const length = this.#argument(info)
        const start = this.pos
        this.#skip(length)
        if (major === MAJOR.text && !isUtf8(this.#bytes, start, this.pos)) malformed('a text string that is not UTF-8')
        return
      }
      case MAJOR.array:
      case MAJOR.map:
        this.#container(depth + 1, info, major === MAJOR.map ? 2 : 1)
        return
      case MAJOR.tag: {
        if (info === INDEFINITE) malformed('indefinite tag')
        // Tag 259 ("a map with keys of any type") is what cbor-x's default encoder puts on every
        // JavaScript Map: it marks the map it wraps, so that map takes the tag's level, not one more.
        if (this.#argument(info) === MAP_TAG && this.#peek() >> 5 === MAJOR.map) {
          this.item(depth)
          return
        }
        if (depth + 1 > this.#limits.maxDepth) tooMuch(`nested deeper than ${this.#limits.maxDepth}`)
        this.item(depth + 1)
        return
      }
      default: // simple values and floats
        if (info === INDEFINITE) malformed('unexpected break')
        this.#argument(info)
    }
  }

  #container (depth: number, info: number, itemsPerEntry: number): void {
    const limits = this.#limits
    if (depth > limits.maxDepth) tooMuch(`nested deeper than ${limits.maxDepth}`)
    if (++this.#containers > limits.maxContainers) tooMuch(`more than ${limits.maxContainers} arrays and maps`)
    const keys = itemsPerEntry === 2 ? new MapKeys() : undefined
    if (info !== INDEFINITE) {
      const count = this.#argument(info)
      if (count > limits.maxEntries) tooMuch(`an array or map of more than ${limits.maxEntries} entries`)
      for (let i = count; i > 0; i--) this.#entry(depth, keys)
      return
    }
    for (let count = 1; this.#peek() !== BREAK; count++) {
      if (count > limits.maxEntries) tooMuch(`an array or map of more than ${limits.maxEntries} entries`)
      this.#entry(depth, keys)
    }
    this.pos++
  }

  /** An array's element, or a map's key (checked against the map's other keys) and value. */
  #entry (depth: number, keys: MapKeys | undefined): void {
    if (keys === undefined) return this.item(depth)
    const key = this.pos
    this.item(depth)
    keys.add(this.#bytes, key)
    this.item(depth)
  }

  /** The head's argument (RFC 8949, 3); lengths past 2^53 are only compared, so their rounding is harmless. */
  #argument (info: number): number {
    if (info < 24) return info
    if (info > 27) malformed(`reserved additional information ${info}`)
    let value = 0
    for (let i = ARGUMENT_BYTES[info - 24]!; i > 0; i--) value = value * 256 + this.#next()
    return value
  }

  #next (): number {
    if (this.pos >= this.#bytes.length) malformed('truncated item')
    return this.#bytes[this.pos++]!
  }

  #peek (): number {
    if (this.pos >= this.#bytes.length) malformed('truncated item')
    return this.#bytes[this.pos]!
  }

  #skip (count: number): void {
    if (count > this.#bytes.length - this.pos) malformed('truncated item')
    this.pos += count
  }
}

/**
 * The keys of one map, to find one given twice. Envelopes key their fields by small unsigned
 * integers (a bit each, no allocation); a device's maps may also have other integers or text as
 * keys (an encrypted body's user and device ids). Any other key — bytes, an array, a map, a tag, a
 * float or a simple value — no envelope has, and its equality the decoder decides otherwise than
 * its bytes would: refused.
 */
class MapKeys {
  #small = 0
  #others: Set<string> | undefined

  /** The key at `pos`, already walked (so well formed). */
  add (bytes: Uint8Array, pos: number): void {
    const major = bytes[pos]! >> 5
    if (major === MAJOR.text) return this.#other(`t${textOf(bytes, pos)}`)
    if (major !== MAJOR.uint && major !== MAJOR.negint) tooMuch('a map key that is not an integer or text')
    // By value: an integer may be written in more than one length.
    const value = argumentAt(bytes, pos).value
    if (major === MAJOR.uint && value < 24) {
      const bit = 1 << value
      if ((this.#small & bit) !== 0) malformed(`map key ${value} twice`)
      this.#small |= bit
      return
    }
    this.#other(`${major}:${value}`)
  }

  #other (key: string): void {
    this.#others ??= new Set()
    if (this.#others.has(key)) malformed('a map key twice')
    this.#others.add(key)
  }
}

/** The argument of the well-formed head at `pos` (a double past 2^53, as the decoder reads it) and where its content starts. */
function argumentAt (bytes: Uint8Array, pos: number): { value: number, end: number } {
  const info = bytes[pos]! & 31
  if (info < 24) return { value: info, end: pos + 1 }
  const length = ARGUMENT_BYTES[info - 24]!
  let value = 0
  for (let i = 1; i <= length; i++) value = value * 256 + bytes[pos + i]!
  return { value, end: pos + 1 + length }
}

/** A well-formed text string's bytes, one character each (UTF-8 has one encoding per string, so equal bytes are equal text). */
function textOf (bytes: Uint8Array, pos: number): string {
  const { value, end } = argumentAt(bytes, pos)
  let text = ''
  for (let i = end; i < end + value; i++) text += String.fromCharCode(bytes[i]!)
  return text
}

/**
 * Whether `bytes[start, end)` is well-formed UTF-8 (RFC 3629; Unicode 15, table 3-7): no overlong
 * forms, no surrogates (U+D800–U+DFFF), nothing past U+10FFFF. ASCII costs one comparison a byte.
 */
export function isUtf8 (bytes: Uint8Array, start: number, end: number): boolean {
  let i = start
  while (i < end) {
    const lead = bytes[i]!
    if (lead < 0x80) {
      i++
      continue
    }
    let length: number
    let low = 0x80
    let high = 0xbf
    if (lead >= 0xc2 && lead <= 0xdf) length = 2
    else if (lead >= 0xe0 && lead <= 0xef) {
      length = 3
      if (lead === 0xe0) low = 0xa0
      else if (lead === 0xed) high = 0x9f // surrogates
    } else if (lead >= 0xf0 && lead <= 0xf4) {
      length = 4
      if (lead === 0xf0) low = 0x90
      else if (lead === 0xf4) high = 0x8f
    } else return false
    if (i + length > end) return false
    const second = bytes[i + 1]!
    if (second < low || second > high) return false
    for (let k = 2; k < length; k++) {
      const next = bytes[i + k]!
      if (next < 0x80 || next > 0xbf) return false
    }
    i += length
  }
  return true
}

function malformed (why: string): never {
  throw new LowbandError('BAD_ENCODING', why)
}

function tooMuch (why: string): never {
  throw new LowbandError('BAD_ENVELOPE', why)
}
