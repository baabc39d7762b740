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
 * Checks that `bytes` are exactly one well-formed CBOR item within `limits`, reading only the
 * heads of its items (string contents are skipped, nothing is built): a malformed item or trailing
 * bytes is BAD_ENCODING, structure beyond the limits BAD_ENVELOPE. It stops at the first excess,
 * so its cost is bounded by the limits, not by the size of the input.
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
      case MAJOR.text:
        // Strings in chunks (RFC 8949, 3.2.3) are legal CBOR that the decoder (cbor-x) does not read.
        if (info === INDEFINITE) malformed('indefinite-length string')
        this.#skip(this.#argument(info))
        return
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
    if (info !== INDEFINITE) {
      const count = this.#argument(info)
      if (count > limits.maxEntries) tooMuch(`an array or map of more than ${limits.maxEntries} entries`)
      for (let i = count * itemsPerEntry; i > 0; i--) this.item(depth)
      return
    }
    for (let count = 1; this.#peek() !== BREAK; count++) {
      if (count > limits.maxEntries) tooMuch(`an array or map of more than ${limits.maxEntries} entries`)
      for (let i = itemsPerEntry; i > 0; i--) this.item(depth)
    }
    this.pos++
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

function malformed (why: string): never {
  throw new LowbandError('BAD_ENCODING', why)
}

function tooMuch (why: string): never {
  throw new LowbandError('BAD_ENVELOPE', why)
}
