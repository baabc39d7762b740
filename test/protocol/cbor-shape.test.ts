import { describe, expect, it } from 'vitest'
import { encode } from 'cbor-x'
import { DEVICE_PAYLOAD_LIMITS, decodeCbor, encodeCbor } from '../../protocol/cbor.js'
import { isUtf8 } from '../../protocol/cbor-shape.js'
import { decodeEncryptedBody, MAX_PREKEYS_PER_PUBLISH, PublishKeysArgs } from '../../protocol/e2e.js'
import { ReadWatermark, ResumeRequest, SendRequest, TypingSignal } from '../../protocol/envelopes.js'
import { type ErrorName, LowbandError } from '../../protocol/errors.js'
import { AddMembersArgs, CreateGroupArgs, OP, Request } from '../../protocol/requests.js'

function codeOf (call: () => unknown): ErrorName | 'none' {
  try {
    call()
    return 'none'
  } catch (error) {
    if (error instanceof LowbandError) return error.errorName
    throw error
  }
}

const decodeFromDevice = (bytes: Uint8Array): unknown => decodeCbor(bytes, DEVICE_PAYLOAD_LIMITS)
const hex = (text: string): Uint8Array => Buffer.from(text.replace(/\s/g, ''), 'hex')
/** An array head of 65 500 elements, then the elements. */
const array65500 = (element: number): Uint8Array => Buffer.concat([hex('99ffdc'), Buffer.alloc(65_500, element)])

describe('decoding a device payload within DEVICE_PAYLOAD_LIMITS', () => {
  const members = Array.from({ length: 1024 }, (_, i) => `user${i}`)
  const legitimate: Array<[string, Uint8Array]> = [
    ['a SendRequest with a text body', SendRequest.encode({ clientMsgId: new Uint8Array(8), to: 'bob', body: 'hi' })],
    ['a SendRequest with a 60 000-byte body', SendRequest.encode({ clientMsgId: 'c1', group: 'g1', body: new Uint8Array(60_000), kind: 1 })],
    ['a read watermark', ReadWatermark.encode({ peer: 'bob', cseq: 9, group: true })],
    ['a typing signal', TypingSignal.encode({ to: 'bob', state: 1 })],
    ['a resume request', ResumeRequest.encode({ cursor: 2 ** 40 })],
    ['createGroup with 1024 members', Request.encode({ rid: 1, op: OP.createGroup, args: CreateGroupArgs.toCbor({ name: 'all', members }) })],
    ['publishKeys with the most one-time prekeys a publish may hold', Request.encode({ rid: 3, op: OP.publishKeys, args: PublishKeysArgs.toCbor({
      identityKey: new Uint8Array(32), signedPreKeyId: 1, signedPreKey: new Uint8Array(32), signature: new Uint8Array(64),
      preKeys: Array.from({ length: MAX_PREKEYS_PER_PUBLISH }, (_, i): [number, Uint8Array] => [i + 1, new Uint8Array(32)])
    }) })],
    ['addMembers', Request.encode({ rid: 2, op: OP.addMembers, args: AddMembersArgs.toCbor({ group: 'g', users: ['a', 'b'] }) })],
    // A device whose CBOR library tags byte strings (RFC 8746, tag 64) and writes indefinite lengths.
    ['a tagged body in an indefinite map', hex('bf 01 62 6331 02 63 626f62 03 d840 43 010203 ff')],
    // cbor-x's default encode() writes every Map under tag 259: the tag does not deepen the map.
    ['createGroup as cbor-x writes JavaScript Maps, tag 259 on each', encode(new Map<number, unknown>([[1, 1], [2, OP.createGroup], [3, new Map<number, unknown>([[1, 'Hikers'], [2, ['bob']]])]]))],
    ['floats and simple values', encodeCbor(new Map<number, unknown>([[1, 1.5], [2, true], [3, null], [4, -7]]))],
    // Lengths written after the head, in bytes that are no ASCII (0xc8; 0x0f 0xa0; 0x00 0x01 0x86 0xa0).
    ['text of 200, 4000 and 100 000 bytes', encodeCbor(['é'.repeat(100), 'x'.repeat(4000), 'é'.repeat(50_000)])],
    ['text of every UTF-8 length, to the ends of the code space', encodeCbor(['a', 'é', '€', '\ud7ff', '\ue000', '\uffff', '😀', '\u{10ffff}', '\u202eRTL', 'a\u0000b'])],
    ['an encrypted body\'s text keys', encodeCbor(new Map([['bob', new Map([['phone', new Uint8Array(2)], ['laptop', new Uint8Array(2)]])], ['carol', new Map()]]))],
    ['distinct keys of every integer length', hex('a5 00 00 17 00 1818 00 190100 00 3a00000001 00')]
  ]
  for (const [name, bytes] of legitimate) {
    it(`decodes ${name} as the unbounded decoder does`, () => {
      expect(decodeFromDevice(bytes)).toEqual(decodeCbor(bytes))
    })
  }

  const refused: Array<[string, Uint8Array, ErrorName]> = [
    ['65 500 empty maps', array65500(0xa0), 'BAD_ENVELOPE'],
    ['65 500 empty arrays', array65500(0x80), 'BAD_ENVELOPE'],
    ['65 500 small integers', array65500(0x01), 'BAD_ENVELOPE'],
    ['a SendRequest whose body is 1025 strings', encodeCbor(new Map<number, unknown>([[1, 'c'], [2, 'bob'], [3, Array.from({ length: 1025 }, () => '')]])), 'BAD_ENVELOPE'],
    ['a map of 1025 pairs', encodeCbor(new Map(Array.from({ length: 1025 }, (_, i) => [i, 0]))), 'BAD_ENVELOPE'],
    ['arrays nested 5 deep', encodeCbor([[[[[1]]]]]), 'BAD_ENVELOPE'],
    ['65 000 nested arrays', Buffer.concat([Buffer.alloc(65_000, 0x81), hex('00')]), 'BAD_ENVELOPE'],
    ['65 000 nested maps under tag 259', Buffer.concat([Buffer.concat(Array.from({ length: 65_000 }, () => hex('d90103 a1 00'))), hex('00')]), 'BAD_ENVELOPE'],
    ['65 000 nested tags', Buffer.concat([Buffer.alloc(65_000, 0xc6), hex('00')]), 'BAD_ENVELOPE'],
    ['256 arrays side by side in an array', encodeCbor(Array.from({ length: 256 }, () => [])), 'BAD_ENVELOPE'],
    ['2 049 items in arrays of 1000', encodeCbor([Array.from({ length: 1000 }, () => 0), Array.from({ length: 1000 }, () => 0), Array.from({ length: 48 }, () => 0)]), 'BAD_ENVELOPE'],
    ['an indefinite array of 1025 elements', Buffer.concat([hex('9f'), Buffer.alloc(1025, 0), hex('ff')]), 'BAD_ENVELOPE'],
    ['an empty payload', new Uint8Array(0), 'BAD_ENCODING'],
    ['a lone break', hex('ff'), 'BAD_ENCODING'],
    ['two items', Buffer.concat([encodeCbor(1), encodeCbor(2)]), 'BAD_ENCODING'],
    ['a string longer than the payload', hex('a1 01 7a 00010000 6869'), 'BAD_ENCODING'],
    ['a map missing its last value', hex('a2 01 02 03'), 'BAD_ENCODING'],
    ['reserved additional information', hex('1c'), 'BAD_ENCODING'],
    ['an indefinite integer', hex('1f'), 'BAD_ENCODING'],
    ['an indefinite-length string, which cbor-x does not read', hex('a3 01 01 02 63 626f62 03 7f 62 6869 61 21 ff'), 'BAD_ENCODING'],
    ['an unterminated indefinite map', hex('bf 01 02'), 'BAD_ENCODING'],
    ['a break inside a definite array', hex('82 01 ff'), 'BAD_ENCODING'],
    ['an 8-byte length of 2^63', hex('5b 8000000000000000 00'), 'BAD_ENCODING'],
    // RFC 8949 5.6: not valid; the decoder would keep the last, another reader the first.
    ['a map with key 1 twice', hex('a3 01 00 02 00 01 01'), 'BAD_ENCODING'],
    ['a map with key 1 twice, once written in two bytes', hex('a2 01 00 1801 01'), 'BAD_ENCODING'],
    ['a map with key 300 twice', hex('a2 19012c 00 19012c 01'), 'BAD_ENCODING'],
    ['a map with key -1 twice', hex('a2 20 00 3800 01'), 'BAD_ENCODING'],
    ['an indefinite map with a text key twice', hex('bf 63 626f62 00 63 626f62 01 ff'), 'BAD_ENCODING'],
    ['a map nested in a map with a key twice', hex('a1 03 a2 01 00 01 00'), 'BAD_ENCODING'],
    ['a map with a byte-string key', hex('a1 41 01 00'), 'BAD_ENVELOPE'],
    ['a map with a float key', hex('a1 f93c00 00'), 'BAD_ENVELOPE'],
    ['a map with a tagged key', hex('a1 c1 01 00'), 'BAD_ENVELOPE'],
    ['a map with an array key', hex('a1 80 00'), 'BAD_ENVELOPE'],
    // Text must be UTF-8 (RFC 8949 3.1): cbor-x would store U+FFFD in its place.
    ['a lone high surrogate, CESU-8', hex('63 eda080'), 'BAD_ENCODING'],
    ['a lone low surrogate, CESU-8', hex('63 edbfbf'), 'BAD_ENCODING'],
    ['an overlong NUL', hex('62 c080'), 'BAD_ENCODING'],
    ['an overlong three-byte form', hex('63 e08080'), 'BAD_ENCODING'],
    ['a code point past U+10FFFF', hex('64 f4908080'), 'BAD_ENCODING'],
    ['a sequence cut short', hex('62 e282'), 'BAD_ENCODING'],
    ['a stray continuation byte', hex('61 80'), 'BAD_ENCODING'],
    ['0xff in text', hex('61 ff'), 'BAD_ENCODING'],
    ['invalid UTF-8 in a map key', hex('a1 61 ff 00'), 'BAD_ENCODING']
  ]
  for (const [name, bytes, expected] of refused) {
    it(`refuses ${name} with ${expected}`, () => {
      expect(codeOf(() => decodeFromDevice(bytes))).toBe(expected)
    })
  }

  it('decodes an integer written in 8 bytes as a number, and one past 2^53 as no safe integer', () => {
    expect(decodeFromDevice(hex('a1 01 1b 0000010000000000'))).toEqual(new Map([[1, 2 ** 40]]))
    expect(decodeFromDevice(hex('a1 01 1b 001fffffffffffff'))).toEqual(new Map([[1, Number.MAX_SAFE_INTEGER]]))
    expect(Number.isSafeInteger((decodeFromDevice(hex('a1 01 1b ffffffffffffffff')) as Map<number, unknown>).get(1))).toBe(false)
    expect(SendRequest.fromCbor(decodeFromDevice(hex('83 1b 001fffffffffffff 63 626f62 61 78'))).clientMsgId).toBe(Number.MAX_SAFE_INTEGER)
    expect(codeOf(() => SendRequest.fromCbor(decodeFromDevice(hex('83 1b 0020000000000000 63 626f62 61 78'))))).toBe('BAD_ENVELOPE')
  })

  it('agrees with a fatal UTF-8 decoder on 20 000 random byte strings (seed 12)', () => {
    const fatal = new TextDecoder('utf-8', { fatal: true })
    let state = 12
    const random = (): number => { state = (Math.imul(state, 1103515245) + 12345) >>> 0; return state >>> 8 }
    for (let n = 0; n < 20_000; n++) {
      // Bytes drawn mostly from the lead and continuation ranges, where the edge cases are.
      const bytes = Uint8Array.from({ length: 1 + (random() % 6) }, () => [random() & 0xff, 0x80 | (random() & 0x3f), 0xe0 | (random() & 0x1f)][random() % 3]!)
      let valid = true
      try { fatal.decode(bytes) } catch { valid = false }
      expect(isUtf8(bytes, 0, bytes.length), Buffer.from(bytes).toString('hex')).toBe(valid)
    }
  })

  it('refuses what the unbounded decoder also refuses, with the same code', () => {
    for (const bytes of [hex('ff0013'), hex('1c'), hex('a2 01 02 03'), hex('5b 8000000000000000 00'), hex('7f 62 6869 ff')]) {
      expect(codeOf(() => decodeFromDevice(bytes))).toBe(codeOf(() => decodeCbor(bytes)))
    }
  })
})

describe('decoding an encrypted body (the broker checks its addressing)', () => {
  it('refuses structure no encrypted body has before decoding it, as for a device payload', () => {
    expect(codeOf(() => decodeEncryptedBody(Buffer.concat([Buffer.alloc(65_000, 0x81), hex('00')])))).toBe('BAD_ENVELOPE')
    expect(codeOf(() => decodeEncryptedBody(array65500(0xa0)))).toBe('BAD_ENVELOPE')
    const copies = new Map([['bob', new Map([['phone', new Uint8Array(40)]])]])
    expect([...decodeEncryptedBody(encodeCbor(new Map<number, unknown>([[1, copies]]))).copies.get('bob')!.get('phone')!]).toEqual([...new Uint8Array(40)])
  })
})
