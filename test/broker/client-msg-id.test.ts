import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { encodeSend, ErrorNotice, InboxMessage, StoredAck, type SendRequest } from '../../protocol/envelopes.js'
import { ERROR_CODES } from '../../protocol/errors.js'
import { startTestBroker, type TestBroker } from '../helpers/broker.js'
import { request } from '../helpers/chat.js'
import { Inbox } from '../helpers/messages.js'
import { CreateGroupArgs, GroupInfo, OP } from '../../protocol/requests.js'

/**
 * Client message ids are short random bytes, so two messages of one device may draw the same id
 * (CLIENT_MSG_ID_BYTES). A true resend is answered as the message it repeats; a different message
 * under a used id is refused with CLIENT_MSG_ID_REUSED, so it fails visibly instead of being
 * acknowledged as the old one and lost.
 */
describe('client message id reuse', () => {
  let broker: TestBroker
  beforeAll(async () => { broker = await startTestBroker() })
  afterAll(() => broker.close())

  const id = new Uint8Array([7, 7, 7, 7, 7, 7, 7])
  const publish = async (client: import('mqtt').MqttClient, send: SendRequest): Promise<void> => {
    const { topic, payload } = encodeSend(send)
    await client.publishAsync(topic, Buffer.from(payload), { qos: 1 })
  }

  it('acknowledges a resend as the stored message, and refuses another message under the same id', async () => {
    const bob = new Inbox(await broker.device('bob', 'phone'))
    const carol = new Inbox(await broker.device('carol', 'phone'))
    const alice = await broker.device('alice', 'phone')
    const own = new Inbox(alice)
    await publish(alice, { clientMsgId: id, to: 'bob', body: 'first' })
    await own.wait('/a')
    await bob.wait('inbox')
    const head = await broker.storage.messages.inboxHead('alice')

    // The same message again (a resend after a lost PUBACK): acknowledged again, stored once.
    await publish(alice, { clientMsgId: id, to: 'bob', body: 'first' })
    const acks = await own.wait('/a', 2)
    expect(StoredAck.decode(acks[1]!.payload)).toEqual(StoredAck.decode(acks[0]!.payload))

    // A different body, recipient or kind under that id is not a resend.
    const others: SendRequest[] = [{ clientMsgId: id, to: 'bob', body: 'second' }, { clientMsgId: id, to: 'carol', body: 'first' }, { clientMsgId: id, to: 'bob', body: 'first', kind: 7 }]
    for (const [i, other] of others.entries()) {
      await publish(alice, other)
      const errors = await own.wait('/e', i + 1)
      expect(ErrorNotice.decode(errors[i]!.payload), JSON.stringify(other)).toMatchObject({ code: ERROR_CODES.CLIENT_MSG_ID_REUSED.code, clientMsgId: Buffer.from(id) })
    }
    expect(own.on('/a')).toHaveLength(2)
    expect(await broker.storage.messages.inboxHead('alice')).toBe(head)
    expect(bob.on('inbox').map((r) => InboxMessage.decode(r.payload).body)).toEqual(['first'])
    expect(carol.on('inbox')).toEqual([])
  })

  it('refuses another group message under a used id the same way', async () => {
    const dave = await broker.device('dave', 'phone')
    const own = new Inbox(dave)
    await broker.device('erin', 'phone')
    const created = await request(dave, 'dave', OP.createGroup, CreateGroupArgs.toCbor({ name: 'ids', members: ['erin'] }))
    const group = GroupInfo.fromCbor(created.result).id
    await publish(dave, { clientMsgId: id, group, body: 'to the group' })
    await own.wait('/a')
    await publish(dave, { clientMsgId: id, group, body: 'to the group' })
    await own.wait('/a', 2)
    await publish(dave, { clientMsgId: id, group, body: 'something else' })
    const [error] = await own.wait('/e')
    expect(ErrorNotice.decode(error!.payload).code).toBe(ERROR_CODES.CLIENT_MSG_ID_REUSED.code)
  })
})
