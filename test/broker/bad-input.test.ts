import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { encodeCbor } from '../../protocol/cbor.js'
import { DirectSend, ErrorNotice, SendRequest } from '../../protocol/envelopes.js'
import { ERROR_CODES } from '../../protocol/errors.js'
import { startTestBroker, type TestBroker } from '../helpers/broker.js'
import { sendRaw } from '../helpers/chat.js'
import { Inbox } from '../helpers/messages.js'

describe('bad input', () => {
  let broker: TestBroker
  beforeAll(async () => { broker = await startTestBroker({ maxPayload: 1024, rateLimit: 20, rateBurst: 40 }) })
  afterAll(() => broker.close())

  const cases: Array<[string, () => Uint8Array, keyof typeof ERROR_CODES]> = [
    ['an undecodable payload', () => Buffer.from([0xff, 0x00, 0x13]), 'BAD_ENCODING'],
    ['two CBOR items', () => Buffer.concat([encodeCbor(1), encodeCbor(2)]), 'BAD_ENCODING'],
    ['an empty payload', () => Buffer.alloc(0), 'BAD_ENCODING'],
    ['a CBOR array instead of a map', () => encodeCbor([1, 2, 3]), 'BAD_ENVELOPE'],
    ['a send without a recipient', () => encodeCbor(new Map<number, unknown>([[1, 'c'], [3, 'hi']])), 'BAD_ENVELOPE'],
    ['a recipient id with a topic separator', () => SendRequest.encode({ clientMsgId: 'c', to: 'bob/#', body: 'x' }), 'BAD_ENVELOPE'],
    ['a payload over the limit', () => SendRequest.encode({ clientMsgId: 'c', to: 'bob', body: 'x'.repeat(2000) }), 'TOO_LARGE'],
    ['an unknown recipient', () => SendRequest.encode({ clientMsgId: 'c', to: 'nobody-here', body: 'x' }), 'UNKNOWN_RECIPIENT']
  ]

  // The same refusals on the 1:1 send topic, where the recipient is the topic.
  const direct: Array<[string, string, () => Uint8Array, keyof typeof ERROR_CODES]> = [
    ['an undecodable payload', 's/bob', () => Buffer.from([0xff, 0x00, 0x13]), 'BAD_ENCODING'],
    ['a send without a body', 's/bob', () => encodeCbor(['c']), 'BAD_ENVELOPE'],
    ['a payload over the limit', 's/bob', () => DirectSend.encode({ clientMsgId: 'c', body: 'x'.repeat(2000) }), 'TOO_LARGE'],
    ['an unknown recipient', 's/nobody-here', () => DirectSend.encode({ clientMsgId: 'c', body: 'x' }), 'UNKNOWN_RECIPIENT'],
    ['a send topic of more than one level', 's/bob/x', () => DirectSend.encode({ clientMsgId: 'c', body: 'x' }), 'FORBIDDEN_TOPIC'],
    ['a send topic without a recipient', 's/', () => DirectSend.encode({ clientMsgId: 'c', body: 'x' }), 'FORBIDDEN_TOPIC']
  ]
  const all: Array<[string, string, () => Uint8Array, keyof typeof ERROR_CODES]> = [...cases.map(([name, payload, expected]) => [name, 'c/s', payload, expected] as [string, string, () => Uint8Array, keyof typeof ERROR_CODES]), ...direct]

  for (const [name, topic, payload, expected] of all) {
    it(`answers ${name} on ${topic} with ${expected}, stores nothing and keeps the connection`, async () => {
      const bob = new Inbox(await broker.device('bob', 'phone'))
      const alice = await broker.device('alice', 'phone')
      const inbox = new Inbox(alice)
      const headBefore = await broker.storage.messages.inboxHead('alice')
      await alice.publishAsync(topic, Buffer.from(payload()), { qos: 1 })
      const [error] = await inbox.wait('/e')
      const notice = ErrorNotice.decode(error!.payload)
      expect(notice.code).toBe(ERROR_CODES[expected].code)
      expect(notice.topic).toBe(topic)
      expect(await broker.storage.messages.inboxHead('alice')).toBe(headBefore)
      // Still connected and working.
      await sendRaw(alice, 'bob', 'still here')
      await bob.wait('inbox')
      expect(alice.connected).toBe(true)
      await alice.endAsync()
    })
  }

  it('references the client message id in the error when it could be read', async () => {
    const alice = await broker.device('alice', 'tablet')
    const inbox = new Inbox(alice)
    await sendRaw(alice, 'no-such-user', 'x', 'ref-42')
    const [error] = await inbox.wait('/e')
    expect(ErrorNotice.decode(error!.payload).clientMsgId).toBe('ref-42')
  })

  it('answers an unknown command topic with UNKNOWN_COMMAND', async () => {
    const alice = await broker.device('alice', 'watch')
    const inbox = new Inbox(alice)
    await alice.publishAsync('c/zz', Buffer.from(encodeCbor(new Map())), { qos: 1 })
    const [error] = await inbox.wait('/e')
    expect(ErrorNotice.decode(error!.payload).code).toBe(ERROR_CODES.UNKNOWN_COMMAND.code)
  })

  it('answers a burst over the limit with RATE_LIMITED and keeps the connection', async () => {
    const eager = await broker.device('eager', 'phone')
    const inbox = new Inbox(eager)
    // QoS 0, so the burst is not paced by PUBACKs: 40 allowed at once, then refusals.
    for (let i = 0; i < 45; i++) eager.publish('c/s', Buffer.from(SendRequest.encode({ clientMsgId: i, to: 'eager', body: 'x' })), { qos: 0 })
    await inbox.until(() => inbox.on('/e').length >= 3)
    expect(new Set(inbox.on('/e').map((r) => ErrorNotice.decode(r.payload).code))).toEqual(new Set([ERROR_CODES.RATE_LIMITED.code]))
    expect(eager.connected).toBe(true)
  })

  it('disconnects a client that keeps flooding, and carries on for everyone else', async () => {
    const flooder = await broker.device('flood', 'phone')
    const closed = new Promise<void>((resolve) => flooder.once('close', () => resolve()))
    for (let i = 0; i < 400; i++) flooder.publish('c/s', Buffer.from(SendRequest.encode({ clientMsgId: i, to: 'flood', body: 'x' })), { qos: 0 })
    await closed
    expect(broker.logs.join('')).toContain('disconnecting a flooding client')
    const alice = await broker.device('alice', 'pc')
    const bob = new Inbox(await broker.device('bob', 'pc'))
    await sendRaw(alice, 'bob', 'after the flood')
    await bob.wait('inbox')
  })

})
