import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { LowbandError, type ChatMessage, type GroupEvent, type MessageStatusChange, type TypingChange } from '../../clients/sdk/index.js'
import { TestBroker } from './helpers/broker.js'
import { collect, next } from './helpers/events.js'

describe('history and groups over a real broker', () => {
  let broker: TestBroker
  beforeAll(async () => { broker = await TestBroker.start() })
  afterAll(async () => { await broker.stop() })

  it('pages back through a conversation with statuses, and the page feeds messageStatus()', async () => {
    const alice = await broker.connected('alice', 'phone')
    const bob = await broker.connected('bob', 'phone')
    const bobGot = collect<ChatMessage>((h) => bob.onMessage(h), 5)
    const sent = []
    for (let i = 1; i <= 7; i++) sent.push(i % 3 === 0 ? await bob.send('alice', `b${i}`) : await alice.send('bob', `a${i}`))
    await bobGot.done
    const read = next<MessageStatusChange>((h) => alice.onMessageStatus(h), (c) => c.status === 'read' && c.cseq === 4)
    bob.markRead('alice', 4)
    await read

    // A fresh device of alice knows nothing of these messages until it reads the history.
    const laptop = await broker.connected('alice', 'laptop', { cursor: 1_000_000 })
    const newest = await laptop.history('bob', undefined, 3)
    expect(newest.more).toBe(true)
    expect(newest.items.map((m) => [m.cseq, m.text, m.own])).toEqual([[5, 'a5', true], [6, 'b6', false], [7, 'a7', true]])
    const older = await laptop.history({ user: 'bob' }, newest.items[0]!.cseq, 3)
    expect(older.items.map((m) => m.cseq)).toEqual([2, 3, 4])
    const oldest = await laptop.history('bob', older.items[0]!.cseq, 3)
    expect(oldest).toMatchObject({ more: false, items: [{ cseq: 1, from: 'alice', text: 'a1', status: 'read', kind: 0 }] })
    expect(older.items.find((m) => m.cseq === 4)!.status).toBe('read')
    expect(newest.items.find((m) => m.cseq === 5)!.status).toBe('delivered')
    expect(laptop.messageStatus(sent[4]!.id)).toBe('delivered')
    await expect(laptop.history('bob', undefined, 101)).rejects.toMatchObject({ errorName: 'BAD_ENVELOPE' })
  })

  it('creates a group, adds a member, sends to it, and tells everyone what happened', async () => {
    const carol = await broker.connected('carol', 'phone')
    const dave = await broker.connected('dave', 'phone')
    const erin = await broker.connected('erin', 'phone')
    const carolEvents: GroupEvent[] = []
    const daveEvents: GroupEvent[] = []
    carol.onGroupEvent((e) => carolEvents.push(e))
    dave.onGroupEvent((e) => daveEvents.push(e))

    const created = next<GroupEvent>((h) => dave.onGroupEvent(h))
    const group = await carol.createGroup('Hikers', ['dave'])
    expect(group).toMatchObject({ name: 'Hikers', admins: ['carol'], members: ['carol', 'dave'], createdBy: 'carol', id: expect.any(String) })
    expect(await created).toMatchObject({ group: group.id, event: 'created', actor: 'carol', targets: ['dave'], name: 'Hikers', text: 'carol created the group "Hikers"' })

    const erinHears = next<GroupEvent>((h) => erin.onGroupEvent(h))
    // The acting device hears of its own change too.
    const carolHears = next<GroupEvent>((h) => carol.onGroupEvent(h), (e) => e.event === 'added')
    expect((await carol.addMembers(group.id, ['erin'])).members).toEqual(['carol', 'dave', 'erin'])
    expect(await erinHears).toMatchObject({ event: 'added', actor: 'carol', targets: ['erin'], text: 'carol added you' })
    expect((await carolHears).text).toBe('you added erin')

    const daveGets = next<ChatMessage>((h) => dave.onMessage(h), (m) => m.kind === 0)
    const erinGets = next<ChatMessage>((h) => erin.onMessage(h), (m) => m.kind === 0)
    const sent = await carol.sendToGroup(group.id, 'hello hikers')
    for (const message of [await daveGets, await erinGets]) {
      expect(message).toMatchObject({ id: sent.id, from: 'carol', to: group.id, group: group.id, conversation: { group: group.id }, text: 'hello hikers', own: false })
    }
    expect(dave.unread({ group: group.id })).toBe(1)
    expect(daveEvents.map((e) => e.text)).toEqual(['carol created the group "Hikers"', 'carol added erin'])

    await expect(dave.addMembers(group.id, ['alice'])).rejects.toSatisfy((e) => e instanceof LowbandError && e.errorName === 'NOT_ADMIN')
    await expect(erin.groupInfo('g-none')).rejects.toMatchObject({ errorName: 'UNKNOWN_GROUP', code: 13 })
    expect((await erin.listGroups()).map((g) => g.id)).toEqual([group.id])
    expect(carolEvents.map((e) => e.event)).toEqual(['created', 'added'])
  })

  it('reports a group message delivered and read once every member has, through the SDK', async () => {
    const frank = await broker.connected('frank', 'phone')
    const gina = await broker.connected('gina', 'phone')
    const hank = await broker.connected('hank', 'phone')
    const group = await frank.createGroup('Receipts', ['gina', 'hank'])
    const changes: MessageStatusChange[] = []
    frank.onMessageStatus((c) => changes.push(c))
    const ginaGets = next<ChatMessage>((h) => gina.onMessage(h), (m) => m.kind === 0)
    const hankGets = next<ChatMessage>((h) => hank.onMessage(h), (m) => m.kind === 0)
    const delivered = next<MessageStatusChange>((h) => frank.onMessageStatus(h), (c) => c.status === 'delivered')
    const sent = await frank.sendToGroup(group.id, 'did everyone get this?')
    const [message] = [await ginaGets, await hankGets]
    await delivered

    const read = next<MessageStatusChange>((h) => frank.onMessageStatus(h), (c) => c.status === 'read')
    expect(gina.markRead({ group: group.id }, message!.cseq)).toBe(true)
    expect(gina.unread({ group: group.id })).toBe(0)
    // One member is not everyone: still delivered.
    expect(frank.messageStatus(sent.id)).toBe('delivered')
    expect(hank.markRead({ group: group.id }, message!.cseq)).toBe(true)
    await read
    expect(changes.map((c) => c.status)).toEqual(['sent', 'delivered', 'read'])
    expect(frank.messageStatus(sent.id)).toBe('read')
  })

  it('shows typing in a group to the other members, with the group', async () => {
    const ivy = await broker.connected('ivy', 'phone')
    const jack = await broker.connected('jack', 'phone')
    const group = await ivy.createGroup('Typists', ['jack'])
    const typing = next<TypingChange>((h) => jack.onTyping(h))
    ivy.typing({ group: group.id })
    expect(await typing).toEqual({ conversation: { group: group.id }, from: 'ivy', typing: true })
    const stopped = next<TypingChange>((h) => jack.onTyping(h))
    ivy.stopTyping({ group: group.id })
    expect(await stopped).toMatchObject({ typing: false })
  })

  it('removes, promotes, renames and leaves, each with its notice; a removed member gets nothing after', async () => {
    const kate = await broker.connected('kate', 'phone')
    const lee = await broker.connected('lee', 'phone')
    const mia = await broker.connected('mia', 'phone')
    const leeEvents = collect<GroupEvent>((h) => lee.onGroupEvent(h), 6)
    const group = await kate.createGroup('Team', ['lee', 'mia'])
    expect((await kate.promote(group.id, 'lee')).admins).toEqual(['kate', 'lee'])
    expect((await lee.demote(group.id, 'kate')).admins).toEqual(['lee'])
    expect((await mia.rename(group.id, 'Team 2')).name).toBe('Team 2')
    const miaRemoved = next<GroupEvent>((h) => mia.onGroupEvent(h), (e) => e.event === 'removed')
    expect((await lee.removeMember(group.id, 'mia')).members).toEqual(['kate', 'lee'])
    expect((await miaRemoved).text).toBe('lee removed you')
    await kate.leave(group.id)
    expect((await leeEvents.done).map((e) => e.text)).toEqual([
      'kate created the group "Team"', 'kate made you an admin', 'you removed kate as admin', 'mia renamed the group to "Team 2"', 'you removed mia', 'kate left'
    ])
    await expect(mia.sendToGroup(group.id, 'let me back in')).rejects.toMatchObject({ errorName: 'NOT_MEMBER' })
  })
})
