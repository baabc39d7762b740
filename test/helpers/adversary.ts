import type { MqttClient } from 'mqtt'
import { expect } from 'vitest'
import { encodeCbor } from '../../protocol/cbor.js'
import { ErrorNotice } from '../../protocol/envelopes.js'
import { ERROR_CODES, type ErrorName } from '../../protocol/errors.js'
import { Response } from '../../protocol/requests.js'
import type { TestBroker } from './broker.js'
import { sendRaw } from './chat.js'
import { Inbox } from './messages.js'

/*
 * Tools for the adversarial suites (test/broker/adversarial*.test.ts): raw CBOR built byte by byte
 * (so a payload can hold what no encoder writes — duplicate keys, indefinite lengths, odd tags),
 * a seeded random source, and an attacker connection that sends one hostile publish at a time and
 * reads the coded answer it earned.
 */

/** Seeded PRNG (mulberry32): the same seed gives the same run. */
export { seededRandom as seeded } from '../../netem/outages.js'

/** Raw CBOR bytes. */
export type Raw = Uint8Array

export const hex = (text: string): Raw => Buffer.from(text.replace(/\s+/g, ''), 'hex')
export const cbor = (value: unknown): Raw => encodeCbor(value)
const cat = (...parts: Raw[]): Raw => Buffer.concat(parts)

/** A CBOR head: major type and argument, the shortest form. */
function head (major: number, argument: number | bigint): Raw {
  const value = BigInt(argument)
  const m = major << 5
  if (value < 24n) return Uint8Array.of(m | Number(value))
  if (value < 0x100n) return Uint8Array.of(m | 24, Number(value))
  if (value < 0x10000n) return Uint8Array.of(m | 25, Number(value >> 8n), Number(value & 0xffn))
  const bytes = value < 0x100000000n ? 4 : 8
  const out = new Uint8Array(bytes + 1)
  out[0] = m | (bytes === 4 ? 26 : 27)
  for (let i = bytes; i > 0; i--) out[i] = Number((value >> BigInt((bytes - i) * 8)) & 0xffn)
  return out
}

/** A map of raw keys and values, in this order, duplicates kept. */
export function rawMap (entries: Array<[number | Raw, Raw]>): Raw {
  return cat(head(5, entries.length), ...entries.flatMap(([k, v]) => [typeof k === 'number' ? cbor(k) : k, v]))
}

/** An array of raw items. */
export function rawArray (items: Raw[]): Raw {
  return cat(head(4, items.length), ...items)
}

/** The same, with indefinite length (RFC 8949, 3.2.2). */
export function indefiniteArray (items: Raw[]): Raw {
  return cat(Uint8Array.of(0x9f), ...items, Uint8Array.of(0xff))
}

export function indefiniteMap (entries: Array<[number, Raw]>): Raw {
  return cat(Uint8Array.of(0xbf), ...entries.flatMap(([k, v]) => [cbor(k), v]), Uint8Array.of(0xff))
}

/** A tag around a raw item. */
export function tagged (tag: number, item: Raw): Raw {
  return cat(head(6, tag), item)
}

/** A text string of exactly these UTF-8 bytes (valid or not). */
export function rawText (bytes: Raw): Raw {
  return cat(head(3, bytes.length), bytes)
}

/** An unsigned integer of any size (past 2^53 too). */
export function rawUint (value: bigint): Raw {
  return head(0, value)
}

/** A head that claims `length` but is followed by nothing. */
export function claimed (major: number, length: bigint): Raw {
  return head(major, length)
}

/** Arrays nested `depth` deep around `inner`. */
export function nested (depth: number, inner: Raw = cbor(0)): Raw {
  let item = inner
  for (let i = 0; i < depth; i++) item = rawArray([item])
  return item
}

/**
 * Hostile stand-ins for one field, each a raw CBOR item of the wrong type or shape: what a field of
 * any type must refuse (a field that accepts one of them lists it in `except`).
 */
export const HOSTILE_VALUES: ReadonlyArray<[string, Raw]> = [
  ['negative', cbor(-1)],
  ['float', cbor(1.5)],
  ['NaN', hex('f97e00')],
  ['Infinity', hex('f97c00')],
  ['2^53', rawUint(2n ** 53n)],
  ['2^64-1', rawUint(2n ** 64n - 1n)],
  ['bignum tag', tagged(2, cbor(Buffer.alloc(9, 1)))],
  ['false', cbor(false)],
  ['undefined', hex('f7')],
  ['array', cbor(['x'])],
  ['map', rawMap([[1, cbor('x')]])],
  ['date tag', tagged(1, cbor(0))],
  ['generic-object tag 27', tagged(27, cbor(['Error', 'boom']))],
  ['shared-reference cycle', tagged(28, rawArray([tagged(29, cbor(0))]))],
  ['set tag 258', tagged(258, cbor([1]))],
  ['embedded-CBOR tag 24', tagged(24, cbor(cbor('x')))],
  ['a record tag', hex('d9dfff 83 01 81 6161 01')],
  ['typed array tag', tagged(69, cbor(Buffer.from([1, 0])))]
]

/**
 * Text that is no id: the characters an id never has, and lengths it never has (BAD_ENVELOPE);
 * and text that is not UTF-8 at all (BAD_ENCODING, whatever field it is in).
 */
export const HOSTILE_IDS: ReadonlyArray<[string, Raw, 'BAD_ENVELOPE' | 'BAD_ENCODING']> = [
  ['empty', cbor(''), 'BAD_ENVELOPE'],
  ['65 characters', cbor('a'.repeat(65)), 'BAD_ENVELOPE'],
  ['a topic separator', cbor('bob/x'), 'BAD_ENVELOPE'],
  ['a wildcard +', cbor('+'), 'BAD_ENVELOPE'],
  ['a wildcard #', cbor('#'), 'BAD_ENVELOPE'],
  ['NUL', cbor('bob\u0000'), 'BAD_ENVELOPE'],
  ['an RTL override', cbor('\u202ebob'), 'BAD_ENVELOPE'],
  ['a zero-width joiner', cbor('bo\u200db'), 'BAD_ENVELOPE'],
  ['a lone surrogate (CESU-8)', rawText(hex('626f62 eda080')), 'BAD_ENCODING'],
  ['invalid UTF-8', rawText(hex('626f62 c328')), 'BAD_ENCODING'],
  ['a space', cbor('bob '), 'BAD_ENVELOPE']
]

export interface Publication {
  topic: string
  payload: Raw
  qos?: 0 | 1 | 2
  retain?: boolean
}

/**
 * One attacking device: publishes one hostile payload at a time and returns what it earned — the
 * ErrorNotice its publish caused, or the Response to its request.
 */
export class Adversary {
  readonly inbox: Inbox
  #rid = 1_000_000

  constructor (readonly client: MqttClient, readonly userId: string) {
    this.inbox = new Inbox(client)
  }

  /** Publishes and returns the ErrorNotice it earned (one is expected). */
  async notice ({ topic, payload, qos = 1, retain = false }: Publication): Promise<ErrorNotice> {
    const before = this.inbox.on('/e').length
    await this.client.publishAsync(topic, Buffer.from(payload), { qos, retain })
    const [received] = (await this.inbox.wait('/e', before + 1)).slice(before)
    return ErrorNotice.decode(received!.payload)
  }

  /** Publishes and expects the refusal `code`; the connection stays. */
  async expectRefused (publication: Publication, expected: ErrorName, what: string): Promise<void> {
    const notice = await this.notice(publication).catch((error: unknown) => {
      throw new Error(`${what}: ${String(error)} (connected: ${this.client.connected})`)
    })
    expect(notice.code, `${what}: ${notice.detail ?? ''}`).toBe(ERROR_CODES[expected].code)
    expect(notice.topic, what).toBe(publication.topic)
    expect(this.client.connected, `${what}: still connected`).toBe(true)
  }

  /**
   * A request whose args are raw CBOR (or none); resolves with its Response — or, for a payload
   * refused before its rid could be read (too much structure, not CBOR), with its ErrorNotice.
   */
  async request (op: number | Raw, args?: Raw): Promise<{ code?: number, detail?: string, result?: unknown }> {
    const rid = ++this.#rid
    const fields: Array<[number, Raw]> = [[1, cbor(rid)], [2, typeof op === 'number' ? cbor(op) : op]]
    if (args !== undefined) fields.push([3, args])
    const notices = this.inbox.on('/e').length
    const answered = (): boolean => this.#response(rid) !== undefined || this.inbox.on('/e').length > notices
    const answer = this.inbox.until(answered, 5000, () => `the response to rid ${rid} (op ${typeof op === 'number' ? op : 'raw'})`)
    await this.client.publishAsync('c/q', Buffer.from(rawMap(fields)), { qos: 1 })
    await answer
    return this.#response(rid) ?? ErrorNotice.decode(this.inbox.on('/e')[notices]!.payload)
  }

  /** Expects the request to be refused with `code`. */
  async expectRequestRefused (op: number | Raw, args: Raw | undefined, expected: ErrorName, what: string): Promise<void> {
    const response = await this.request(op, args)
    expect(response.code, `${what}: ${response.detail ?? 'no code'}`).toBe(ERROR_CODES[expected].code)
  }

  #response (rid: number): Response | undefined {
    for (const { payload } of this.inbox.on('/q')) {
      const response = Response.decode(payload)
      if (response.rid === rid) return response
    }
    return undefined
  }
}

/**
 * After a batch of hostile input: a bystander's 1:1 message (from `sender` to the user `recipient`
 * collects for) still arrives, and the broker logged no error.
 */
export async function expectServing (broker: TestBroker, sender: MqttClient, recipient: Inbox, recipientId: string, body: string, after = ''): Promise<void> {
  const count = recipient.on('inbox').length
  await sendRaw(sender, recipientId, body)
  const arrived = (): boolean => recipient.on('inbox').slice(count).some((r) => r.payload.includes(Buffer.from(body)))
  await recipient.until(arrived, 5000, () => `the bystander's message "${body}"${after}`)
  expect(errorLines(broker), after).toEqual([])
}

/** Log lines of level error (50) or fatal (60) the broker wrote: bad input must cause none. */
export function errorLines (broker: TestBroker): string[] {
  return broker.logs.flatMap((chunk) => chunk.split('\n')).filter((line) => {
    if (line.trim() === '') return false
    try {
      return (JSON.parse(line) as { level?: number }).level! >= 50
    } catch {
      return true
    }
  })
}
