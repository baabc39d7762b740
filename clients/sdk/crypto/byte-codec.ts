import { LowbandError } from '../../../protocol/errors.js'

/**
 * The few integers of an encrypted header as unsigned LEB128 varints: a message number under 128
 * costs one byte. Headers are hand-packed (not CBOR) because every byte of them is paid for on every
 * message on a 2G link; what they carry is documented in docs/PROTOCOL.md.
 */
export class ByteWriter {
  readonly #parts: number[] = []
  readonly #chunks: Uint8Array[] = []

  byte (value: number): this {
    this.#parts.push(value & 0xff)
    return this
  }

  varint (value: number): this {
    if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`varint: ${value}`)
    let rest = value
    while (rest >= 0x80) {
      this.#parts.push((rest % 0x80) | 0x80)
      rest = Math.floor(rest / 0x80)
    }
    this.#parts.push(rest)
    return this
  }

  bytes (value: Uint8Array): this {
    this.#flush()
    this.#chunks.push(value)
    return this
  }

  finish (): Uint8Array {
    this.#flush()
    let length = 0
    for (const chunk of this.#chunks) length += chunk.length
    const out = new Uint8Array(length)
    let offset = 0
    for (const chunk of this.#chunks) {
      out.set(chunk, offset)
      offset += chunk.length
    }
    return out
  }

  #flush (): void {
    if (this.#parts.length === 0) return
    this.#chunks.push(Uint8Array.from(this.#parts))
    this.#parts.length = 0
  }
}

/** Reads what ByteWriter wrote; a short or malformed input is BAD_KEYS, never an exception of another kind. */
export class ByteReader {
  readonly #bytes: Uint8Array
  #offset = 0

  constructor (bytes: Uint8Array) {
    this.#bytes = bytes
  }

  byte (): number {
    if (this.#offset >= this.#bytes.length) throw truncated()
    return this.#bytes[this.#offset++]!
  }

  varint (): number {
    let value = 0
    let scale = 1
    for (let i = 0; i < 8; i++) {
      const byte = this.byte()
      value += (byte & 0x7f) * scale
      if ((byte & 0x80) === 0) return value
      scale *= 0x80
    }
    throw new LowbandError('BAD_KEYS', 'varint too long')
  }

  bytes (length: number): Uint8Array {
    if (this.#offset + length > this.#bytes.length) throw truncated()
    const out = this.#bytes.subarray(this.#offset, this.#offset + length)
    this.#offset += length
    return out
  }

  rest (): Uint8Array {
    const out = this.#bytes.subarray(this.#offset)
    this.#offset = this.#bytes.length
    return out
  }
}

function truncated (): LowbandError {
  return new LowbandError('BAD_KEYS', 'truncated encrypted message')
}
