import { describe, expect, it } from 'vitest'
import { encodeCbor } from '../../protocol/cbor.js'
import { InboxMessage, SendRequest } from '../../protocol/envelopes.js'
import { classifyUserTopic, isChatTopic } from '../../protocol/topics.js'
import { parseClientId } from '../../protocol/ids.js'

/** What `work` throws; fails the test when it returns instead. */
function thrownBy (work: () => unknown): unknown {
  try {
    work()
  } catch (error) {
    return error
  }
  throw new Error('expected a throw, but it returned')
}

describe('envelopes', () => {
  it('round-trip with integer keys and omit absent optional fields', () => {
    const bytes = SendRequest.encode({ clientMsgId: new Uint8Array([1, 2]), to: 'bob', body: 'hi' })
    expect(Buffer.from(bytes).toString('hex')).toBe('a3' + '01' + '420102' + '02' + '63626f62' + '03' + '626869')
    expect(SendRequest.decode(bytes)).toEqual({ clientMsgId: Buffer.from([1, 2]), to: 'bob', body: 'hi' })
  })

  it('ignore unknown keys and reject wrong types with BAD_ENVELOPE', () => {
    const withExtra = encodeCbor(new Map<number, unknown>([[1, 'i'], [2, 'a'], [4, 'b'], [6, 1], [7, 2], [9, 3], [99, 'new field']]))
    // Key 1 (the server id of earlier drafts) is unknown now, and ignored like key 99.
    expect(InboxMessage.decode(withExtra)).toEqual({ from: 'a', body: 'b', seq: 1, ts: 2, cseq: 3 })
    const wrong = encodeCbor(new Map<number, unknown>([[1, 'c'], [2, 42], [3, 'x']]))
    expect(thrownBy(() => SendRequest.decode(wrong))).toMatchObject({ name: 'LowbandError', errorName: 'BAD_ENVELOPE' })
    expect(thrownBy(() => SendRequest.decode(new Uint8Array([0xff])))).toMatchObject({ name: 'LowbandError', errorName: 'BAD_ENCODING' })
  })
})

describe('topics and ids', () => {
  it('classify user topics', () => {
    expect(classifyUserTopic('u/bob/m')).toEqual({ userId: 'bob', kind: 'inbox' })
    expect(classifyUserTopic('u/bob/o/phone')).toEqual({ userId: 'bob', kind: 'echo', device: 'phone' })
    expect(classifyUserTopic('x/bob/m')).toBeUndefined()
    expect(isChatTopic('c/s')).toBe(true)
    expect(isChatTopic('cs')).toBe(false)
  })

  it('parse client ids strictly', () => {
    expect(parseClientId('alice/phone')).toEqual({ userId: 'alice', deviceId: 'phone' })
    expect(parseClientId('alice/phone/x')).toBeUndefined()
    expect(parseClientId('alice/+')).toBeUndefined()
    expect(parseClientId('/phone')).toBeUndefined()
  })
})
