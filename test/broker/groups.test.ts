import type { MqttClient } from 'mqtt'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ErrorNotice, InboxMessage, ReadWatermark, Receipt, ResumeRequest, SendRequest, SystemEvent } from '../../protocol/envelopes.js'
import { ERROR_CODES } from '../../protocol/errors.js'
import { GroupInfo, OP } from '../../protocol/requests.js'
import { startTestBroker, type TestBroker } from '../helpers/broker.js'
import { request } from '../helpers/chat.js'
import { Inbox } from '../helpers/messages.js'

let n = 0
const sendToGroup = (client: MqttClient, group: string, body: string) =>
  client.publishAsync('c/s', Buffer.from(SendRequest.encode({ clientMsgId: `gm${++n}`, group, body })), { qos: 1 })
const messages = (inbox: Inbox) => inbox.on('inbox').map((r) => InboxMessage.decode(r.payload)).sort((a, b) => a.seq - b.seq)
const texts = (inbox: Inbox) => messages(inbox).filter((m) => m.kind === undefined).map((m) => m.body)
const events = (inbox: Inbox) => messages(inbox).filter((m) => m.kind === 2).map((m) => SystemEvent.decode(m.body as Uint8Array))

interface Member { client: MqttClient, inbox: Inbox }

describe('groups', () => {
  let broker: TestBroker
  const members: Record<string, Member> = {}
  const ask = async (user: string, op: number, args: Array<[number, unknown]>) => request(members[user]!.client, user, op, new Map(args))
  const expectCode = async (user: string, op: number, args: Array<[number, unknown]>, name: keyof typeof ERROR_CODES) => {
    expect((await ask(user, op, args)).code, name).toBe(ERROR_CODES[name].code)
  }

  beforeAll(async () => {
    broker = await startTestBroker({ maxGroupSize: 6, rateBurst: 2000, rateLimit: 2000 })
    for (const user of ['alice', 'bob', 'carol', 'dave', 'erin', 'frank', 'gina', 'hank']) {
      const client = await broker.device(user, 'phone', { clean: false })
      members[user] = { client, inbox: new Inbox(client) }
    }
  })
  afterAll(() => broker.close())

  it('runs every operation with its permission check, each announced by a system message', async () => {
    const created = await ask('alice', OP.createGroup, [[1, 'Hikers'], [2, ['bob', 'carol']]])
    const group = GroupInfo.fromCbor(created.result)
    expect(group).toMatchObject({ name: 'Hikers', admins: ['alice'], members: ['alice', 'bob', 'carol'], createdBy: 'alice' })
    const id = group.id
    await members.bob!.inbox.until(() => events(members.bob!.inbox).length === 1)
    expect(events(members.bob!.inbox)[0]).toMatchObject({ event: 1, actor: 'alice', name: 'Hikers' })

    await expectCode('bob', OP.addMembers, [[1, id], [2, ['dave']]], 'NOT_ADMIN')
    await expectCode('dave', OP.addMembers, [[1, id], [2, ['erin']]], 'NOT_MEMBER')
    await expectCode('alice', OP.addMembers, [[1, id], [2, ['bob']]], 'ALREADY_MEMBER')
    await expectCode('alice', OP.addMembers, [[1, id], [2, ['nobody-here']]], 'UNKNOWN_RECIPIENT')
    await expectCode('alice', OP.addMembers, [[1, 'g-none'], [2, ['dave']]], 'UNKNOWN_GROUP')
    await expectCode('alice', OP.addMembers, [[1, id], [2, ['dave', 'erin', 'frank', 'gina']]], 'GROUP_FULL')
    expect(GroupInfo.fromCbor((await ask('alice', OP.groupInfo, [[1, id]])).result).members).toEqual(['alice', 'bob', 'carol'])

    expect((await ask('alice', OP.addMembers, [[1, id], [2, ['dave']]])).code).toBeUndefined()
    await expectCode('bob', OP.promote, [[1, id], [2, 'bob']], 'NOT_ADMIN')
    expect(GroupInfo.fromCbor((await ask('alice', OP.promote, [[1, id], [2, 'bob']])).result).admins).toEqual(['alice', 'bob'])
    expect(GroupInfo.fromCbor((await ask('bob', OP.demote, [[1, id], [2, 'alice']])).result).admins).toEqual(['bob'])
    expect(GroupInfo.fromCbor((await ask('carol', OP.rename, [[1, id], [2, 'Hikers 2026']])).result).name).toBe('Hikers 2026')
    await expectCode('alice', OP.removeMember, [[1, id], [2, 'carol']], 'NOT_ADMIN')
    expect(GroupInfo.fromCbor((await ask('bob', OP.removeMember, [[1, id], [2, 'carol']])).result).members).toEqual(['alice', 'bob', 'dave'])
    // The last admin leaves: the longest-standing member takes over.
    expect((await ask('bob', OP.leave, [[1, id]])).code).toBeUndefined()
    expect(GroupInfo.fromCbor((await ask('alice', OP.groupInfo, [[1, id]])).result)).toMatchObject({ members: ['alice', 'dave'], admins: ['alice'] })
    await expectCode('bob', OP.groupInfo, [[1, id]], 'NOT_MEMBER')

    const dave = members.dave!.inbox
    await dave.until(() => events(dave).length >= 7)
    expect(events(dave).map((e) => [e.event, e.actor, e.targets ?? e.name])).toEqual([
      [2, 'alice', ['dave']], [5, 'alice', ['bob']], [6, 'bob', ['alice']], [7, 'carol', 'Hikers 2026'],
      [3, 'bob', ['carol']], [4, 'bob', undefined], [5, 'bob', ['alice']]
    ])
    // The actor's own device hears its changes too (it gets no StoredAck for a system message).
    const alice = members.alice!.inbox
    await alice.until(() => events(alice).length >= 5)
    expect(events(alice).filter((e) => e.actor === 'alice').map((e) => e.event)).toEqual([1, 2, 5])
    // carol learnt she was removed, and nothing after.
    const carol = members.carol!.inbox
    await carol.until(() => events(carol).some((e) => e.event === 3))
    expect(events(carol).at(-1)).toMatchObject({ event: 3, targets: ['carol'] })
    const lists = (await ask('alice', OP.listGroups, [])).result as unknown[]
    expect(lists.map((g) => GroupInfo.fromCbor(g).id)).toContain(id)
  })

  it('applies membership changes from the very next message', async () => {
    const id = GroupInfo.fromCbor((await ask('erin', OP.createGroup, [[1, 'Boundary'], [2, ['frank']]])).result).id
    await sendToGroup(members.erin!.client, id, 'before gina')
    await ask('erin', OP.addMembers, [[1, id], [2, ['gina']]])
    await sendToGroup(members.erin!.client, id, 'after gina joined')
    await ask('erin', OP.removeMember, [[1, id], [2, 'frank']])
    await sendToGroup(members.erin!.client, id, 'after frank left')
    const gina = members.gina!.inbox
    const frank = members.frank!.inbox
    await gina.until(() => texts(gina).includes('after frank left'))
    expect(texts(gina)).toEqual(['after gina joined', 'after frank left'])
    await frank.until(() => events(frank).some((e) => e.event === 3))
    expect(texts(frank)).toEqual(['before gina', 'after gina joined'])
    // A non-member's publish: coded error, nothing stored.
    const head = await broker.storage.messages.inboxHead('gina')
    const frankClient = members.frank!.client
    await sendToGroup(frankClient, id, 'let me back in')
    await frank.until(() => frank.on('/e').length > 0)
    expect(ErrorNotice.decode(frank.on('/e')[0]!.payload).code).toBe(ERROR_CODES.NOT_MEMBER.code)
    expect(await broker.storage.messages.inboxHead('gina')).toBe(head)
  })

  it('gives every member the same order under concurrent senders', async () => {
    const id = GroupInfo.fromCbor((await ask('alice', OP.createGroup, [[1, 'Order'], [2, ['bob', 'carol', 'dave']]])).result).id
    const senders = ['alice', 'bob', 'carol']
    await Promise.all(senders.map(async (user) => {
      for (let i = 0; i < 30; i++) await sendToGroup(members[user]!.client, id, `${user}-${i}`)
    }))
    const orders: string[][] = []
    for (const user of ['alice', 'bob', 'carol', 'dave']) {
      const inbox = members[user]!.inbox
      // Senders get their own messages as StoredAcks, so compare by cseq across all, reading from the store.
      await inbox.until(() => messages(inbox).filter((m) => m.group === id && m.kind === undefined).length >= (user === 'dave' ? 90 : 60))
      const entries = await broker.storage.messages.readInbox(user, 0, 10_000)
      const ofGroup = entries.filter((e) => e.message?.group === true && e.message.to === id && e.message.kind === 0)
      expect(ofGroup.map((e) => e.message!.cseq)).toEqual([...ofGroup.map((e) => e.message!.cseq)].sort((a, b) => a - b))
      // (group, cseq) identifies a group message on the wire; the body tells the messages apart too.
      orders.push(ofGroup.map((e) => `${e.message!.cseq}:${String(e.message!.body)}`))
    }
    expect(orders[0]).toHaveLength(90)
    for (const order of orders) expect(order).toEqual(orders[0])
    // Live deliveries carry each member's own seq, increasing in the group's order.
    const dave = messages(members.dave!.inbox).filter((m) => m.group === id && m.kind === undefined)
    expect(dave.map((m) => `${m.cseq}:${String(m.body)}`)).toEqual(orders[0])
    // So does a replay, with the group named.
    const replaying = await broker.device('dave', 'tablet')
    const replay = new Inbox(replaying)
    await replaying.publishAsync('c/r', Buffer.from(ResumeRequest.encode({ cursor: 0 })), { qos: 1 })
    await replay.wait('/y')
    expect(messages(replay).filter((m) => m.group === id && m.kind === undefined).map((m) => `${m.cseq}:${String(m.body)}`)).toEqual(orders[0])
  })

  it('tells the sender "delivered" and "read" once each, when every member has', async () => {
    const id = GroupInfo.fromCbor((await ask('frank', OP.createGroup, [[1, 'Receipts'], [2, ['gina', 'hank']]])).result).id
    const frank = members.frank!.inbox
    const before = frank.on('/r').length
    await sendToGroup(members.frank!.client, id, 'did everyone get this?')
    await frank.until(() => frank.on('/r').length > before)
    const receipts = () => frank.on('/r').slice(before).map((r) => Receipt.decode(r.payload)).filter((r) => r.peer === id && r.status !== 3)
    expect(receipts()).toEqual([expect.objectContaining({ status: 1, group: true })])
    const cseq = receipts()[0]!.cseq
    await members.gina!.client.publishAsync('c/d', Buffer.from(ReadWatermark.encode({ peer: id, cseq, group: true })), { qos: 1 })
    await members.hank!.client.publishAsync('c/d', Buffer.from(ReadWatermark.encode({ peer: id, cseq, group: true })), { qos: 1 })
    await frank.until(() => receipts().length === 2)
    expect(receipts().map((r) => [r.status, r.cseq])).toEqual([[1, cseq], [2, cseq]])
  })
})
