import { describe, expect, it } from 'vitest'
import { PresenceUpdate, ReadWatermark, Receipt, DirectSend } from '../../protocol/envelopes.js'
import { GroupInfo, HistoryItem, HistoryPage, OP, Request, Response } from '../../protocol/requests.js'
import { LowbandError, RequestTimeoutError, type MessageStatusChange, type Presence, type UnreadChange } from '../../clients/sdk/index.js'
import { fakeClient, inboxMessage, open, statusAfter, storedAck } from './helpers/fake-client.js'
import { connectedFake } from './helpers/fake-connected.js'
import type { FakeTransport } from './helpers/fake-transport.js'

const requests = (transport: FakeTransport) => transport.published('c/q').map((p) => Request.decode(p.payload))
const watermarks = (transport: FakeTransport) => transport.published('c/d').map((p) => ReadWatermark.decode(p.payload))
const receipt = (seq: number, status: 1 | 2 | 3, cseq: number, extra: Partial<Receipt> = {}) =>
  Receipt.encode({ seq, peer: 'bob', status, cseq, ts: 1_700_000_000, ...extra })

/** Drops the connection and opens the next one after the first backoff step (random 0.5 → 250 ms). */
async function reconnect (fake: Awaited<ReturnType<typeof connectedFake>>, count: number): Promise<FakeTransport> {
  await statusAfter(fake.client, 'reconnecting', () => fake.transports.made[count - 2]!.drop())
  fake.clock.advance(250)
  const next = await fake.transports.waitFor(count)
  await statusAfter(fake.client, 'connected', () => { void open(next) })
  return next
}

describe('requests (fake transport, fake clock)', () => {
  it('matches the response by rid, and repeats a repeatable request once, with the same rid, after the timeout', async () => {
    const { client, clock, transport } = await connectedFake({ requestTimeoutMs: 1000 })
    const page = client.history('bob', 10, 2)
    await transport.until(() => requests(transport).length === 1)
    const [request] = requests(transport)
    expect(request).toMatchObject({ op: OP.history })
    clock.advance(999)
    expect(requests(transport)).toHaveLength(1)
    clock.advance(1)
    expect(requests(transport).map((r) => r.rid)).toEqual([request!.rid, request!.rid])
    transport.deliver('u/alice/q', Response.encode({ rid: request!.rid + 1, result: [] }))
    const item = HistoryItem.toCbor({ from: 'bob', body: 'nine', cseq: 9, ts: 1_700_000_000, status: 2 })
    transport.deliver('u/alice/q', Response.encode({ rid: request!.rid, result: HistoryPage.toCbor({ items: [item], more: true }) }))
    await expect(page).resolves.toEqual({ more: true, items: [{ id: 'u:alice:bob:9', from: 'bob', body: 'nine', text: 'nine', kind: 0, cseq: 9, ts: 1_700_000_000, status: 'read', own: false }] })
    expect(clock.pending).toEqual([])
  })

  it('gives up after the retry with RequestTimeoutError; a group change is never sent twice', async () => {
    const { client, clock, transport } = await connectedFake({ requestTimeoutMs: 1000 })
    const info = client.groupInfo('g1')
    const create = client.createGroup('Once', ['bob'])
    await transport.until(() => requests(transport).length === 2)
    clock.advance(1000)
    await expect(create).rejects.toBeInstanceOf(RequestTimeoutError)
    clock.advance(1000)
    await expect(info).rejects.toThrow('no response to groupInfo within 1000 ms (2 attempts)')
    expect(requests(transport).map((r) => r.op)).toEqual([OP.groupInfo, OP.createGroup, OP.groupInfo])
  })

  it('rejects with the coded LowbandError of the response, and decodes results', async () => {
    const { client, transport } = await connectedFake()
    const info = client.groupInfo('g1')
    const list = client.listGroups()
    await transport.until(() => requests(transport).length === 2)
    const [first, second] = requests(transport)
    transport.deliver('u/alice/q', Response.encode({ rid: first!.rid, code: 9, detail: 'not a member of that group: g1' }))
    const error = await info.catch((e: unknown) => e)
    expect(error).toBeInstanceOf(LowbandError)
    expect(error).toMatchObject({ errorName: 'NOT_MEMBER', code: 9, message: 'not a member of that group: g1' })
    const group = { id: 'g2', name: 'Two', admins: ['alice'], members: ['alice', 'bob'], created: 1, createdBy: 'alice' }
    transport.deliver('u/alice/q', Response.encode({ rid: second!.rid, result: [GroupInfo.toCbor(group)] }))
    await expect(list).resolves.toEqual([group])
    await expect(client.addMembers('g2', ['no spaces allowed'])).rejects.toMatchObject({ errorName: 'BAD_ENVELOPE' })
  })

  it('publishes a request made offline once connected, and fails waiting requests on close', async () => {
    const { client, transports } = fakeClient()
    const privacy = client.setPresencePrivacy('nobody')
    const connected = client.connect()
    const transport = await transports.waitFor(1)
    await open(transport)
    await connected
    await transport.until(() => requests(transport).length === 1)
    expect(requests(transport)[0]).toMatchObject({ op: OP.setPrivacy, args: new Map([[1, 2]]) })
    await client.close()
    await expect(privacy).rejects.toThrow('the lowband client is closed')
  })
})

describe('statuses, read watermarks and presence (fake transport)', () => {
  it('moves a status forward only: a delivered receipt after the read changes nothing', async () => {
    const { client, transport } = await connectedFake()
    const changes: MessageStatusChange[] = []
    client.onMessageStatus((c) => changes.push(c))
    const sending = client.send('bob', 'hello')
    await transport.until(() => transport.published('s/bob').length === 1)
    const { clientMsgId } = DirectSend.decode(transport.published('s/bob')[0]!.payload)
    transport.deliver('u/alice/a', storedAck(clientMsgId as Uint8Array, 1))
    transport.published('s/bob')[0]!.resolve()
    const sent = await sending
    expect(client.messageStatus(sent.id)).toBe('sent')
    transport.deliver('u/alice/r', receipt(2, 2, 1))
    transport.deliver('u/alice/r', receipt(3, 1, 1))
    expect(changes.map((c) => c.status)).toEqual(['sent', 'read'])
    expect(client.messageStatus(sent.id)).toBe('read')
    // A message of mine from another device, below the read watermark, is read at once.
    transport.deliver('u/alice', inboxMessage(4, { from: 'alice', to: 'bob', cseq: 1 }))
    expect(client.messageStatus('u:alice:bob:1')).toBe('read')
    expect(client.messageStatus('never-seen')).toBeUndefined()
  })

  it('takes a delivered receipt as a watermark: every message of mine up to its cseq is delivered, once each', async () => {
    const { client, transport } = await connectedFake()
    const changes: MessageStatusChange[] = []
    client.onMessageStatus((c) => changes.push(c))
    // Three of mine, from another device: cseqs 1, 2 and 4 (3 is bob's).
    for (const [seq, cseq] of [[1, 1], [2, 2], [3, 4]] as const) transport.deliver('u/alice', inboxMessage(seq, { from: 'alice', to: 'bob', cseq }))
    transport.deliver('u/alice/r', receipt(4, 1, 2))
    expect([1, 2, 4].map((cseq) => client.messageStatus(`u:alice:bob:${cseq}`))).toEqual(['delivered', 'delivered', 'sent'])
    transport.deliver('u/alice/r', receipt(5, 1, 1)) // an older watermark changes nothing
    transport.deliver('u/alice/r', receipt(6, 1, 4))
    expect(changes.map((c) => `${c.cseq}:${c.status}`)).toEqual(['1:sent', '2:sent', '4:sent', '1:delivered', '2:delivered', '4:delivered'])
    // One of mine learnt after the receipt, below its watermark, starts delivered.
    transport.deliver('u/alice', inboxMessage(7, { from: 'alice', to: 'bob', cseq: 3 }))
    expect(changes.at(-1)).toMatchObject({ cseq: 3, status: 'delivered' })
  })

  it('sends a watermark made offline on connecting, again after a lost PUBACK, and never one that goes back', async () => {
    const fake = fakeClient()
    const { client, transports } = fake
    const unread: UnreadChange[] = []
    client.onUnread((u) => unread.push(u))
    expect(client.markRead('bob', 5)).toBe(true)
    expect(client.markRead('bob', 5)).toBe(false)
    const connected = client.connect()
    const first = await transports.waitFor(1)
    await open(first)
    await connected
    await first.until(() => watermarks(first).length === 1)
    expect(watermarks(first)).toEqual([{ peer: 'bob', cseq: 5 }])
    // The PUBACK never came: the next connection sends it again.
    const second = await reconnect({ ...fake, transport: first }, 2)
    await second.until(() => watermarks(second).length === 1)
    second.published('c/d')[0]!.resolve()
    bobWrites(second)
    expect(client.unread('bob')).toBe(1)
    expect(client.markRead('bob', 4)).toBe(false)
    expect(client.markRead({ group: 'g1' }, 3)).toBe(true)
    expect(watermarks(second).at(-1)).toEqual({ peer: 'g1', cseq: 3, group: true })
    second.published('c/d').at(-1)!.resolve()
    // Another device read further: learnt from its read-by-me receipt, and not sent from here.
    second.deliver('u/alice/r', receipt(3, 3, 7))
    expect(client.unread('bob')).toBe(0)
    expect(client.markRead('bob', 7)).toBe(false)
    expect(unread).toEqual([
      { conversation: { user: 'bob' }, count: 1, readUpTo: 5 },
      { conversation: { user: 'bob' }, count: 0, readUpTo: 7 }
    ])
    const third = await reconnect({ ...fake, transport: second }, 3)
    expect(watermarks(third)).toEqual([])
  })

  it('watches presence on every connection, forgets an unwatched contact, and sets the c/o will', async () => {
    const fake = fakeClient()
    const { client, transports } = fake
    const seen: Presence[] = []
    client.onPresence((p) => seen.push(p))
    client.watch('bob')
    client.watch('carol')
    const connected = client.connect()
    const first = await transports.waitFor(1)
    await open(first)
    await connected
    expect(first.options.will).toEqual({ topic: 'c/o', payload: new Uint8Array(0), qos: 0 })
    expect(first.subscribes.map((s) => s.filter)).toEqual(['u/alice/#', 'u/alice/p/bob', 'u/alice/p/carol'])
    first.deliver('u/alice/p/bob', PresenceUpdate.encode({ online: false, lastSeen: 1_700_000_000 }))
    expect(seen).toEqual([{ contact: 'bob', online: false, lastSeen: 1_700_000_000 }])
    expect(client.presence('bob')).toEqual(seen[0])

    await statusAfter(client, 'reconnecting', () => first.drop())
    client.unwatch('carol')
    fake.clock.advance(250)
    const second = await transports.waitFor(2)
    await statusAfter(client, 'connected', () => { void open(second) })
    expect(second.subscribes.map((s) => s.filter)).toEqual(['u/alice/#', 'u/alice/p/bob'])
    // The persistent session may still hold carol's subscription.
    expect(second.unsubscribes.map((s) => s.filter)).toEqual(['u/alice/p/carol'])
    second.deliver('u/alice/p/carol', PresenceUpdate.encode({ online: true }))
    client.unwatch('bob')
    expect(second.unsubscribes.map((s) => s.filter)).toEqual(['u/alice/p/carol', 'u/alice/p/bob'])
    expect(seen).toHaveLength(1)
  })
})

/** Bob's messages at cseq 6 (unread after the watermark at 5) and 4 (read already). */
function bobWrites (transport: FakeTransport): void {
  transport.deliver('u/alice', inboxMessage(1, { from: 'bob', cseq: 6 }))
  transport.deliver('u/alice', inboxMessage(2, { from: 'bob', cseq: 4 }))
}
