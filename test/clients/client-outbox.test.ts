import { describe, expect, it } from 'vitest'
import { CLIENT_MSG_ID_BYTES, DirectSend, ErrorNotice } from '../../protocol/envelopes.js'
import { ERROR_CODES, LowbandError, type ChatMessage } from '../../clients/sdk/index.js'
import { fakeClient, inboxMessage, open, resumeCursors, statusAfter, storedAck, synced } from './helpers/fake-client.js'
import { connectedFake } from './helpers/fake-connected.js'

function sendRequests (payloads: Array<{ payload: Uint8Array }>): DirectSend[] {
  return payloads.map((p) => DirectSend.decode(p.payload))
}

describe('LowbandClient outbox and inbox order (fake transport)', () => {
  it('settles a send on PUBACK after the stored-ack, and advances the cursor past its own seq', async () => {
    const { client, transport } = await connectedFake()
    const sending = client.send('bob', 'hello')
    await transport.until(() => transport.published('s/bob').length === 1)
    const [request] = sendRequests(transport.published('s/bob'))
    // The recipient is the topic (s/bob), not a payload field; the id is CLIENT_MSG_ID_BYTES random bytes.
    expect(request).toEqual({ clientMsgId: expect.any(Uint8Array), body: 'hello' })
    expect((request!.clientMsgId as Uint8Array).length).toBe(CLIENT_MSG_ID_BYTES)

    transport.deliver('u/alice/a', storedAck(request!.clientMsgId as Uint8Array, 1))
    transport.published('s/bob')[0]!.resolve()
    await expect(sending).resolves.toMatchObject({ id: 'u:alice:bob:1', seq: 1, cseq: 1 })
    expect(client.cursor).toBe(1)
  })

  it('republishes an unconfirmed send with the same clientMsgId after a reconnect, and resumes first', async () => {
    const { client, clock, transports, transport } = await connectedFake()
    const sending = client.send('bob', 'through the tunnel')
    await transport.until(() => transport.published('s/bob').length === 1)
    await statusAfter(client, 'reconnecting', () => transport.drop())
    clock.advance(250)
    const second = await transports.waitFor(2)
    await open(second)
    await second.until(() => second.published('s/bob').length === 1)
    const [before] = sendRequests(transport.published('s/bob'))
    const [after] = sendRequests(second.published('s/bob'))
    expect(after!.clientMsgId).toEqual(before!.clientMsgId)
    expect(second.publishes.map((p) => p.topic)).toEqual(['c/r', 's/bob'])

    second.deliver('u/alice/a', storedAck(after!.clientMsgId as Uint8Array, 7))
    second.published('s/bob')[0]!.resolve()
    await expect(sending).resolves.toMatchObject({ seq: 7 })
  })

  it('queues sends made offline and publishes them in order once connected', async () => {
    const { client, transports } = fakeClient()
    const first = client.send('bob', 'one')
    const second = client.send('bob', 'two')
    const connected = client.connect()
    const transport = await transports.waitFor(1)
    await open(transport)
    await connected
    await transport.until(() => transport.published('s/bob').length === 2)
    expect(sendRequests(transport.published('s/bob')).map((r) => r.body)).toEqual(['one', 'two'])
    for (const [i, request] of sendRequests(transport.published('s/bob')).entries()) {
      transport.deliver('u/alice/a', storedAck(request.clientMsgId as Uint8Array, i + 1))
      transport.published('s/bob')[i]!.resolve()
    }
    await expect(Promise.all([first, second])).resolves.toMatchObject([{ seq: 1 }, { seq: 2 }])
  })

  it('keeps at most maxInFlight sends awaiting PUBACK', async () => {
    const { client, transport } = await connectedFake({ maxInFlight: 2 })
    const sends = ['a', 'b', 'c'].map((body) => client.send('bob', body))
    await transport.until(() => transport.published('s/bob').length === 2)
    const requests = sendRequests(transport.published('s/bob'))
    transport.deliver('u/alice/a', storedAck(requests[0]!.clientMsgId as Uint8Array, 1))
    transport.published('s/bob')[0]!.resolve()
    await transport.until(() => transport.published('s/bob').length === 3)
    expect(sendRequests(transport.published('s/bob')).map((r) => r.body)).toEqual(['a', 'b', 'c'])
    await expect(sends[0]).resolves.toMatchObject({ seq: 1 })
  })

  it('lets 64 sends of a backlog out before the link is measured, then the window that its PUBACKs measure', async () => {
    const { client, clock, transport } = await connectedFake()
    const sends = Array.from({ length: 70 }, (_, i) => client.send('bob', `m${i}`))
    await transport.until(() => transport.published('s/bob').length === 64)
    await new Promise((resolve) => setTimeout(resolve, 10))
    expect(transport.published('s/bob')).toHaveLength(64)
    // All 64 acknowledged 200 ms later, at once: 64 sends per 200 ms, the window 2 × 64 = 128, capped at 100.
    clock.advance(200)
    const requests = sendRequests(transport.published('s/bob'))
    requests.forEach((r, i) => transport.deliver('u/alice/a', storedAck(r.clientMsgId as Uint8Array, i + 1)))
    transport.published('s/bob').forEach((p) => p.resolve())
    await transport.until(() => transport.published('s/bob').length === 70)
    await expect(Promise.all(sends.slice(0, 64))).resolves.toHaveLength(64)
  })

  it('sends again under a fresh id when the broker says a different message holds the first (CLIENT_MSG_ID_REUSED)', async () => {
    const { client, transport } = await connectedFake()
    const sending = client.send('bob', 'hello')
    await transport.until(() => transport.published('s/bob').length === 1)
    const [first] = sendRequests(transport.published('s/bob'))
    transport.published('s/bob')[0]!.resolve()
    transport.deliver('u/alice/e', ErrorNotice.encode({ code: ERROR_CODES.CLIENT_MSG_ID_REUSED.code, clientMsgId: first!.clientMsgId, topic: 's/bob' }))
    await transport.until(() => transport.published('s/bob').length === 2)
    const [, second] = sendRequests(transport.published('s/bob'))
    expect(second!.body).toBe('hello')
    expect(second!.clientMsgId).not.toEqual(first!.clientMsgId)
    transport.deliver('u/alice/a', storedAck(second!.clientMsgId as Uint8Array, 1))
    transport.published('s/bob')[1]!.resolve()
    await expect(sending).resolves.toMatchObject({ seq: 1 })
  })

  it('rejects a send with the LowbandError of a matching ErrorNotice; others go to onError', async () => {
    const { client, transport } = await connectedFake()
    const errors: Error[] = []
    client.onError((e) => errors.push(e))
    const sending = client.send('nobody', 'hi')
    await transport.until(() => transport.published('s/nobody').length === 1)
    const [request] = sendRequests(transport.published('s/nobody'))
    transport.deliver('u/alice/e', ErrorNotice.encode({ code: 4, clientMsgId: request!.clientMsgId, detail: 'no such user: nobody', topic: 's/nobody' }))
    const error = await sending.catch((e: unknown) => e)
    expect(error).toBeInstanceOf(LowbandError)
    expect(error).toMatchObject({ code: 4, errorName: 'UNKNOWN_RECIPIENT', message: 'no such user: nobody' })

    transport.deliver('u/alice/e', ErrorNotice.encode({ code: 5, detail: 'this connection may not publish to that topic: x/y', topic: 'x/y' }))
    expect(errors).toEqual([new LowbandError('FORBIDDEN_TOPIC', 'x/y')])
  })

  it('backs off on RATE_LIMITED and publishes the same send again after the pause', async () => {
    const { client, clock, transport } = await connectedFake({ rateLimitPauseMs: 1000 })
    const sending = client.send('bob', 'slow down')
    await transport.until(() => transport.published('s/bob').length === 1)
    const [request] = sendRequests(transport.published('s/bob'))
    transport.deliver('u/alice/e', ErrorNotice.encode({ code: ERROR_CODES.RATE_LIMITED.code, clientMsgId: request!.clientMsgId, topic: 's/bob' }))
    transport.published('s/bob')[0]!.resolve()
    clock.advance(999)
    expect(transport.published('s/bob')).toHaveLength(1)
    clock.advance(1)
    await transport.until(() => transport.published('s/bob').length === 2)
    expect(sendRequests(transport.published('s/bob'))[1]!.clientMsgId).toEqual(request!.clientMsgId)
    transport.deliver('u/alice/a', storedAck(request!.clientMsgId as Uint8Array, 1))
    transport.published('s/bob')[1]!.resolve()
    await expect(sending).resolves.toMatchObject({ seq: 1 })
  })

  it('delivers out-of-order messages in seq order, drops duplicates, and replays a gap that stays open', async () => {
    const { client, clock, transport } = await connectedFake({ gapTimeoutMs: 3000 })
    const seqs: number[] = []
    const cursors: number[] = []
    client.onMessage((m: ChatMessage) => seqs.push(m.seq))
    client.onCursor((c) => cursors.push(c))
    transport.deliver('u/alice', inboxMessage(2))
    transport.deliver('u/alice', inboxMessage(3))
    expect(seqs).toEqual([])
    clock.advance(3000)
    await transport.until(() => transport.published('c/r').length === 2)
    expect(resumeCursors(transport)).toEqual([0, 0])
    transport.deliver('u/alice', inboxMessage(1))
    transport.deliver('u/alice', inboxMessage(2))
    transport.deliver('u/alice', inboxMessage(3))
    transport.deliver('u/alice/y', synced(3))
    expect(seqs).toEqual([1, 2, 3])
    expect(cursors).toEqual([1, 2, 3])
    await expect(client.synced()).resolves.toBe(3)
  })

  it('drops a message seen before even under a new seq (the second guard)', async () => {
    const { client, transport } = await connectedFake()
    const ids: string[] = []
    client.onMessage((m) => ids.push(m.id))
    transport.deliver('u/alice', inboxMessage(1, { cseq: 7 }))
    transport.deliver('u/alice', inboxMessage(2, { cseq: 7 }))
    transport.deliver('u/alice', inboxMessage(3, { from: 'carol', cseq: 7 }))
    expect(ids).toEqual(['u:alice:bob:7', 'u:alice:carol:7'])
    expect(client.cursor).toBe(3)
  })

  it('takes its own message from a replay as the confirmation of a pending send', async () => {
    const { client, transport } = await connectedFake()
    const messages: ChatMessage[] = []
    client.onMessage((m) => messages.push(m))
    const sending = client.send('bob', 'mine')
    await transport.until(() => transport.published('s/bob').length === 1)
    const [request] = sendRequests(transport.published('s/bob'))
    transport.deliver('u/alice', inboxMessage(1, { from: 'alice', to: 'bob', body: 'mine', clientMsgId: request!.clientMsgId, cseq: 4, ts: 1_700_000_004 }))
    await expect(sending).resolves.toMatchObject({ id: 'u:alice:bob:4', seq: 1, cseq: 4, ts: 1_700_000_004 })
    expect(messages).toEqual([])
  })
})
