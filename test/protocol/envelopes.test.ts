import { describe, expect, it } from 'vitest'
import { decodeCbor, encodeCbor } from '../../protocol/cbor.js'
import { DirectSend, encodeSend, InboxMessage, Receipt, RECEIPT, SendRequest, StoredAck } from '../../protocol/envelopes.js'
import { classifyUserTopic, inboxTopic, isChatTopic, recipientOfSendTopic, sendTopic } from '../../protocol/topics.js'
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
    const bytes = encodeCbor(SendRequest.toCbor({ clientMsgId: new Uint8Array([1, 2]), to: 'bob', body: 'hi' }))
    expect(Buffer.from(bytes).toString('hex')).toBe('a3' + '01' + '420102' + '02' + '63626f62' + '03' + '626869')
    expect(SendRequest.decode(bytes)).toEqual({ clientMsgId: Buffer.from([1, 2]), to: 'bob', body: 'hi' })
  })

  it('send the envelopes of every message as arrays in position order, nulls only before a present field', () => {
    const send = SendRequest.encode({ clientMsgId: new Uint8Array([1, 2]), to: 'bob', body: 'hi' })
    expect(Buffer.from(send).toString('hex')).toBe('83' + '420102' + '63626f62' + '626869')
    expect(SendRequest.decode(send)).toEqual({ clientMsgId: Buffer.from([1, 2]), to: 'bob', body: 'hi' })
    const toGroup = SendRequest.encode({ clientMsgId: 7, group: 'g', body: 'hi' })
    expect(decodeCbor(toGroup)).toEqual([7, null, 'hi', null, 'g'])
    expect(SendRequest.decode(toGroup)).toEqual({ clientMsgId: 7, group: 'g', body: 'hi' })
    const message = { from: 'alice', body: 'hi', seq: 3, ts: 1_700_000_000, cseq: 2 }
    expect(decodeCbor(InboxMessage.encode(message))).toEqual(['alice', 'hi', 3, 1_700_000_000, 2])
    expect(InboxMessage.decode(InboxMessage.encode({ ...message, to: 'bob', clientMsgId: 9 }))).toEqual({ ...message, to: 'bob', clientMsgId: 9 })
    expect(StoredAck.decode(encodeCbor([9, 3, 2]))).toEqual({ clientMsgId: 9, seq: 3, cseq: 2 })
    // Elements past the known ones are ignored, as unknown keys are.
    expect(StoredAck.decode(encodeCbor([9, 3, 2, 'a later field']))).toEqual({ clientMsgId: 9, seq: 3, cseq: 2 })
    expect(thrownBy(() => StoredAck.decode(encodeCbor([9, 3])))).toMatchObject({ errorName: 'BAD_ENVELOPE' })
    expect(thrownBy(() => StoredAck.decode(encodeCbor('ack')))).toMatchObject({ errorName: 'BAD_ENVELOPE' })
  })

  it('leave a delivered receipt\'s status off the wire, and read an absent status as delivered', () => {
    const delivered = { seq: 5, peer: 'bob', status: RECEIPT.delivered, cseq: 4, ts: 1_700_000_000 }
    expect(decodeCbor(Receipt.encode(delivered))).toEqual([5, 'bob', 4, 1_700_000_000])
    expect(Receipt.decode(Receipt.encode(delivered))).toEqual(delivered)
    const read = { ...delivered, status: RECEIPT.read }
    expect(decodeCbor(Receipt.encode(read))).toEqual([5, 'bob', 4, 1_700_000_000, 2])
    expect(Receipt.decode(Receipt.encode(read))).toEqual(read)
    expect(Receipt.decode(encodeCbor(new Map<number, unknown>([[1, 5], [2, 'bob'], [4, 4], [5, 1_700_000_000]])))).toEqual(delivered)
  })

  it('accept on the send path exactly what the schema accepts, and refuse the rest with its message', () => {
    const good = [
      [new Uint8Array(16), 'bob', 'hi'], ['x'.repeat(64), 'bob', new Uint8Array(3)], [Number.MAX_SAFE_INTEGER, 'b.o@b_-', ''], [1, 'bob', 'hi', 255]
    ]
    for (const item of good) expect(SendRequest.fromCbor(item), JSON.stringify(item)).toMatchObject({ to: item[1] })
    const bad: Array<[unknown[], RegExp]> = [
      [[new Uint8Array(17), 'bob', 'hi'], /clientMsgId/], [[new Uint8Array(0), 'bob', 'hi'], /clientMsgId/], [['', 'bob', 'hi'], /clientMsgId/],
      [['x'.repeat(65), 'bob', 'hi'], /clientMsgId/], [[-1, 'bob', 'hi'], /clientMsgId/], [[1.5, 'bob', 'hi'], /clientMsgId/],
      [[2 ** 53, 'bob', 'hi'], /clientMsgId/], [[1, 'b/b', 'hi'], /to/], [[1, 'x'.repeat(65), 'hi'], /to/], [[1, 7, 'hi'], /to/],
      [[1, 'bob', 42], /body/], [[1, 'bob', 'hi', 256], /kind/], [[1, 'bob', 'hi', -1], /kind/], [[1, 'bob', 'hi', 0.5], /kind/],
      [[1, 'bob', 'hi', null, 'g'], /exactly one of to and group/], [[1, null, 'hi'], /exactly one of to and group/]
    ]
    for (const [item, message] of bad) {
      expect(thrownBy(() => SendRequest.fromCbor(item)), JSON.stringify(item)).toMatchObject({ errorName: 'BAD_ENVELOPE', message: expect.stringMatching(message) })
    }
  })

  it('send a 1:1 message on s/<to> without the recipient in the payload, and a group message on c/s', () => {
    const direct = encodeSend({ clientMsgId: new Uint8Array([1, 2]), to: 'bob', body: 'hi' })
    expect(direct.topic).toBe('s/bob')
    expect(Buffer.from(direct.payload).toString('hex')).toBe('82' + '420102' + '626869')
    expect(DirectSend.decode(direct.payload)).toEqual({ clientMsgId: Buffer.from([1, 2]), body: 'hi' })
    expect(decodeCbor(encodeSend({ clientMsgId: 1, to: 'bob', body: 'x', kind: 1 }).payload)).toEqual([1, 'x', 1])
    const group = encodeSend({ clientMsgId: 7, group: 'g', body: 'hi' })
    expect(group.topic).toBe('c/s')
    expect(decodeCbor(group.payload)).toEqual([7, null, 'hi', null, 'g'])
    // The map form keeps SendRequest's keys; a `to` key (2) is not DirectSend's and is ignored.
    expect(DirectSend.decode(encodeCbor(new Map<number, unknown>([[1, 9], [2, 'mallory'], [3, 'hi']])))).toEqual({ clientMsgId: 9, body: 'hi' })
    for (const [item, message] of [[[new Uint8Array(17), 'hi'], /clientMsgId/], [[1, 42], /body/], [[1, 'hi', 256], /kind/], [['hi'], /body/]] as Array<[unknown[], RegExp]>) {
      expect(thrownBy(() => DirectSend.fromCbor(item)), JSON.stringify(item)).toMatchObject({ errorName: 'BAD_ENVELOPE', message: expect.stringMatching(message) })
    }
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
    expect(inboxTopic('bob')).toBe('u/bob')
    expect(classifyUserTopic('u/bob')).toEqual({ userId: 'bob', kind: 'inbox' })
    expect(classifyUserTopic('u/')).toBeUndefined()
    expect(classifyUserTopic('u/bob/m')).toEqual({ userId: 'bob', kind: 'unknown' })
    expect(classifyUserTopic('u/bob/o/phone')).toEqual({ userId: 'bob', kind: 'echo', device: 'phone' })
    expect(classifyUserTopic('x/bob/m')).toBeUndefined()
    expect(isChatTopic('c/s')).toBe(true)
    expect(isChatTopic('s/bob')).toBe(true)
    expect(isChatTopic('s')).toBe(true)
    expect(isChatTopic('cs')).toBe(false)
    expect(isChatTopic('sensors/temp')).toBe(false)
  })

  it('name the recipient of a send topic only when it is one valid user id', () => {
    expect(sendTopic('bob')).toBe('s/bob')
    expect(recipientOfSendTopic('s/bob')).toBe('bob')
    for (const topic of ['s/', 's/bob/m', 's/a b', 's', 'c/s', 'u/bob', 'x/bob']) expect(recipientOfSendTopic(topic), topic).toBeUndefined()
  })

  it('parse client ids strictly', () => {
    expect(parseClientId('alice/phone')).toEqual({ userId: 'alice', deviceId: 'phone' })
    expect(parseClientId('alice/phone/x')).toBeUndefined()
    expect(parseClientId('alice/+')).toBeUndefined()
    expect(parseClientId('/phone')).toBeUndefined()
  })
})
