import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { LowbandError, type ChatMessage, type GroupEvent } from '../../clients/sdk/index.js'
import { ErrorNotice, GROUP_EVENT, KIND, SendRequest, SystemEvent } from '../../protocol/envelopes.js'
import { ERROR_CODES } from '../../protocol/errors.js'
import { connectMqtt } from '../helpers/broker.js'
import { Inbox } from '../helpers/messages.js'
import { TestBroker } from './helpers/broker.js'
import { next } from './helpers/events.js'

describe('group events come only from the broker', () => {
  let broker: TestBroker
  beforeAll(async () => { broker = await TestBroker.start() })
  afterAll(async () => { await broker.stop() })

  const forgedAddition = (): Uint8Array => SystemEvent.encode({ event: GROUP_EVENT.added, actor: 'bob', targets: ['mallory'] })

  it('refuses a plain member\'s forged "bob added mallory", and the others never see it', async () => {
    const carol = await broker.connected('carol', 'phone')
    const bob = await broker.connected('bob', 'phone')
    await broker.connected('mallory', 'phone')
    const dave = await broker.connected('dave', 'phone')
    const created = Promise.all([carol, bob, dave].map((client) => next<GroupEvent>((h) => client.onGroupEvent(h))))
    const group = await carol.createGroup('Hikers', ['bob', 'dave'])
    await created
    const shown: string[] = []
    for (const client of [carol, bob, dave]) {
      client.onGroupEvent((e) => shown.push(e.text))
      client.onMessage((m) => { if (m.kind !== KIND.text) shown.push(`kind ${m.kind}`) })
    }
    const after = Promise.all([carol, bob].map((client) => next<ChatMessage>((h) => client.onMessage(h), (m) => m.text === 'after the forgery')))

    // dave, a member but no admin, publishes as a raw device would.
    const raw = await connectMqtt(broker.url, { clientId: 'dave/script', username: 'dave', password: await broker.token('dave') })
    await raw.subscribeAsync('u/dave/#', { qos: 1 })
    const errors = new Inbox(raw)
    await raw.publishAsync('c/s', Buffer.from(SendRequest.encode({ clientMsgId: 'forged', group: group.id, body: forgedAddition(), kind: KIND.system })), { qos: 1 })
    const [error] = await errors.wait('/e')
    expect(ErrorNotice.decode(error!.payload)).toMatchObject({ code: ERROR_CODES.FORBIDDEN_KIND.code, clientMsgId: 'forged' })
    await raw.publishAsync('c/s', Buffer.from(SendRequest.encode({ clientMsgId: 'plain', group: group.id, body: 'after the forgery' })), { qos: 1 })
    await after
    expect(shown).toEqual([])
    await raw.endAsync()
    // The SDK does not even send one.
    await expect(dave.sendToGroup(group.id, forgedAddition(), { kind: KIND.system })).rejects.toThrow(LowbandError)
  })

  it('shows a device\'s system-kind message stored before the refusal as a plain message, not as an event', async () => {
    const carol = await broker.connected('carol', 'tablet')
    const group = await carol.createGroup('Old times', ['bob'])
    // As a broker without the refusal stored it: from bob's device, with the system kind.
    await broker.broker.storage.messages.appendGroup({ from: 'bob', fromDevice: 'phone', to: group.id, body: forgedAddition(), kind: KIND.system, ts: 1, clientMsgId: randomBytes(8) }, ['carol', 'bob'])
    const real = next<GroupEvent>((h) => carol.onGroupEvent(h), (e) => e.event === 'renamed')
    await carol.rename(group.id, 'New times')

    const laptop = await broker.client('carol', 'laptop', { cursor: 0 })
    const events: GroupEvent[] = []
    laptop.onGroupEvent((e) => { if (e.group === group.id) events.push(e) })
    const replayed = next<ChatMessage>((h) => laptop.onMessage(h), (m) => m.group === group.id && m.from === 'bob')
    const renamed = next<GroupEvent>((h) => laptop.onGroupEvent(h), (e) => e.event === 'renamed')
    await laptop.connect()
    expect((await replayed).kind).toBe(KIND.text)
    expect((await renamed).text).toBe('you renamed the group to "New times"')
    expect((await real).actor).toBe('carol')
    expect(events.map((e) => e.event)).toEqual(['created', 'renamed'])
    const page = await laptop.history({ group: group.id })
    expect(page.items.map((m) => [m.from, m.kind, m.system?.event])).toEqual([['carol', KIND.system, 'created'], ['bob', KIND.text, undefined], ['carol', KIND.system, 'renamed']])
  })
})
