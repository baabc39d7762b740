import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ErrorNotice, SendRequest } from '../../protocol/envelopes.js'
import { ERROR_CODES } from '../../protocol/errors.js'
import { OP } from '../../protocol/requests.js'
import { startTestBroker, type TestBroker } from '../helpers/broker.js'
import { request, sendRaw } from '../helpers/chat.js'
import { Inbox } from '../helpers/messages.js'

describe('payload cost', () => {
  let broker: TestBroker
  beforeAll(async () => { broker = await startTestBroker({ rateBytes: '1KiB', rateBytesBurst: '64KiB' }) })
  afterAll(() => broker.close())

  it('refuses a body of 65 500 empty maps with BAD_ENVELOPE, stores nothing and keeps the connection', async () => {
    const bob = new Inbox(await broker.device('bob', 'phone'))
    const alice = await broker.device('alice', 'phone')
    const errors = new Inbox(alice)
    // {1: 'maps', 2: 'bob', 3: [65 500 × {}]}: 64 KiB that cost ~29 ms to decode, twice.
    const head = Buffer.from('a3' + '01' + '646d617073' + '02' + '63626f62' + '03' + '99ffdc', 'hex')
    await alice.publishAsync('c/s', Buffer.concat([head, Buffer.alloc(65_500, 0xa0)]), { qos: 1 })
    const [error] = await errors.wait('/e')
    expect(ErrorNotice.decode(error!.payload)).toMatchObject({ code: ERROR_CODES.BAD_ENVELOPE.code, topic: 'c/s' })
    expect(await broker.storage.messages.inboxHead('alice')).toBe(0)
    await sendRaw(alice, 'bob', 'after it')
    await bob.wait('inbox')
  })

  it('answers payload bytes over --rate-bytes with RATE_LIMITED for that message, and keeps the connection', async () => {
    const carol = await broker.device('carol', 'phone')
    const errors = new Inbox(carol)
    const body = 'x'.repeat(20_000)
    // The 64 KiB burst takes three of these at once; the fourth is over it.
    for (let i = 0; i < 4; i++) carol.publish('c/s', Buffer.from(SendRequest.encode({ clientMsgId: `big-${i}`, to: 'carol', body })), { qos: 0 })
    const [error] = await errors.wait('/e')
    expect(ErrorNotice.decode(error!.payload)).toMatchObject({ code: ERROR_CODES.RATE_LIMITED.code, clientMsgId: 'big-3', detail: expect.stringContaining('payload bytes per second') as unknown })
    expect(carol.connected).toBe(true)
    // Small publishes are within the rate of bytes still.
    expect((await request(carol, 'carol', OP.listGroups)).code).toBeUndefined()
  })
})
