import { describe, expect, it } from 'vitest'
import { ClientClosedError, ConnectionRefusedError } from '../../clients/sdk/index.js'
import { fakeClient, open, resumeCursors, statusAfter } from './helpers/fake-client.js'

describe('LowbandClient connection state machine (fake transport, fake clock)', () => {
  it('reconnects after exact full-jitter delays, resets after a success, and reports every status', async () => {
    const { client, clock, transports, statuses } = fakeClient({ backoff: { baseMs: 500, capMs: 30_000 } })
    const connected = client.connect()
    await open(await transports.waitFor(1))
    await connected
    expect(transports.made[0]!.options).toMatchObject({ clientId: 'alice/phone', username: 'alice', password: 't' })

    await statusAfter(client, 'reconnecting', () => transports.made[0]!.drop(new Error('cell tower gone')))
    // random 0.5 · min(30 s, 500 ms · 2^0)
    expect(clock.pending).toEqual([250])
    clock.advance(249)
    expect(transports.made).toHaveLength(1)
    clock.advance(1)
    const second = await transports.waitFor(2)
    await statusAfter(client, 'reconnecting', () => second.refuse(new Error('ECONNREFUSED')))
    expect(clock.pending).toEqual([500])
    clock.advance(500)
    const third = await transports.waitFor(3)
    await statusAfter(client, 'connected', () => { void open(third) })

    // A working connection resets the backoff: the next loss starts from the first step again.
    await statusAfter(client, 'reconnecting', () => third.drop())
    expect(clock.pending).toEqual([250])

    expect(statuses).toEqual([
      { type: 'connecting' },
      { type: 'connected' },
      { type: 'disconnected', error: new Error('cell tower gone') },
      { type: 'reconnecting', attempt: 1, delayMs: 250 },
      { type: 'reconnecting', attempt: 2, delayMs: 500, error: new Error('ECONNREFUSED') },
      { type: 'connected' },
      { type: 'disconnected' },
      { type: 'reconnecting', attempt: 1, delayMs: 250 }
    ])
    await client.close()
    expect(client.status).toEqual({ type: 'closed' })
    expect(clock.pending).toEqual([])
  })

  it('streams statuses as an async iterable that ends with closed', async () => {
    const { client, transports } = fakeClient()
    const seen: string[] = []
    const iteration = (async () => { for await (const status of client.statuses()) seen.push(status.type) })()
    const connected = client.connect()
    await open(await transports.waitFor(1))
    await connected
    await client.close()
    await iteration
    expect(seen).toEqual(['connecting', 'connected', 'closed'])
  })

  it('resumes from the cursor on every connection', async () => {
    const { client, clock, transports } = fakeClient({ cursor: 41 })
    const connected = client.connect()
    await open(await transports.waitFor(1))
    await connected
    expect(resumeCursors(transports.made[0]!)).toEqual([41])
    await statusAfter(client, 'reconnecting', () => transports.made[0]!.drop())
    clock.advance(250)
    const second = await transports.waitFor(2)
    await open(second)
    expect(resumeCursors(second)).toEqual([41])
    expect(second.subscribes.map((s) => s.filter)).toEqual(['u/alice/#'])
  })

  it('fails the first connect at once, unless asked to retry', async () => {
    const failing = fakeClient()
    const attempt = failing.client.connect()
    ;(await failing.transports.waitFor(1)).refuse(new Error('ECONNREFUSED'))
    await expect(attempt).rejects.toThrow('ECONNREFUSED')
    expect(failing.client.status.type).toBe('closed')

    const patient = fakeClient()
    const connected = patient.client.connect({ retry: true })
    const first = await patient.transports.waitFor(1)
    await statusAfter(patient.client, 'reconnecting', () => first.refuse(new Error('ECONNREFUSED')))
    patient.clock.advance(250)
    await open(await patient.transports.waitFor(2))
    await connected
    expect(patient.client.status.type).toBe('connected')
  })

  it('closes for good when a fixed token is refused, and fails what waits in the outbox', async () => {
    const { client, clock, transports } = fakeClient()
    const connected = client.connect()
    await open(await transports.waitFor(1))
    await connected
    await statusAfter(client, 'reconnecting', () => transports.made[0]!.drop())
    const queued = client.send('bob', 'are you there?')
    clock.advance(250)
    const second = await transports.waitFor(2)
    const closed = await statusAfter(client, 'closed', () => second.refuse(new ConnectionRefusedError(4)))
    expect(closed).toEqual({ type: 'closed', error: new ConnectionRefusedError(4) })
    await expect(queued).rejects.toBeInstanceOf(ClientClosedError)
    await expect(client.synced()).rejects.toBeInstanceOf(ClientClosedError)
  })

  it('gives a token function one more try after a refusal, fetching a fresh token', async () => {
    let issued = 0
    const { client, clock, transports } = fakeClient({ token: async () => `token-${++issued}` })
    const connected = client.connect()
    await open(await transports.waitFor(1))
    await connected
    await statusAfter(client, 'reconnecting', () => transports.made[0]!.drop())
    clock.advance(250)
    const second = await transports.waitFor(2)
    await statusAfter(client, 'reconnecting', () => second.refuse(new ConnectionRefusedError(4)))
    clock.advance(500)
    const third = await transports.waitFor(3)
    expect(third.options.password).toBe('token-3')
    await statusAfter(client, 'connected', () => { void open(third) })
  })
})
