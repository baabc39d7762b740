import { describe, expect, it } from 'vitest'
import { RttEstimator } from '../../clients/sdk/rtt.js'
import { ResumeRequest, DirectSend } from '../../protocol/envelopes.js'
import { fakeClient, inboxMessage, open, statusAfter, storedAck } from './helpers/fake-client.js'
import type { FakeTransport } from './helpers/fake-transport.js'

/** Lets promise callbacks (the transport's answers reaching the client) run. */
const settle = async (): Promise<void> => { for (let i = 0; i < 5; i++) await Promise.resolve() }

/** A fake client, connected on its first transport. */
async function connectedClient (options: Parameters<typeof fakeClient>[0] = {}): Promise<ReturnType<typeof fakeClient> & { first: FakeTransport }> {
  const fake = fakeClient(options)
  const connected = fake.client.connect()
  const first = await fake.transports.waitFor(1)
  await open(first)
  await connected
  return { ...fake, first }
}

/** Stores and acknowledges the send at `index` on `transport` (stored-ack, then PUBACK). */
async function acknowledge (transport: FakeTransport, index: number, seq: number): Promise<void> {
  const publish = transport.published('s/bob')[index]!
  transport.deliver('u/alice/a', storedAck(DirectSend.decode(publish.payload).clientMsgId as Uint8Array, seq))
  publish.resolve()
  await settle()
}

/** One send acknowledged 400 ms after it was written: the RTT estimate's first sample. */
async function measureRtt400 (client: ReturnType<typeof fakeClient>['client'], clock: ReturnType<typeof fakeClient>['clock'], transport: FakeTransport): Promise<void> {
  const stored = client.send('bob', 'one')
  await transport.until(() => transport.published('s/bob').length === 1)
  clock.advance(400)
  await acknowledge(transport, 0, 1)
  await stored
}

/**
 * A connected client with SRTT 400 ms (handshake bound max(800, 1000) ms) whose link then dies: its
 * backoff delay (random 0.5 × 500 ms) passes and the second attempt is made, not yet answered.
 */
async function reconnectingAfterRtt () {
  const connected = await connectedClient()
  await measureRtt400(connected.client, connected.clock, connected.first)
  await statusAfter(connected.client, 'reconnecting', () => connected.first.drop(new Error('ETIMEDOUT')))
  connected.clock.advance(250)
  const second = await connected.transports.waitFor(2)
  await settle()
  return { ...connected, second }
}

describe('SDK on weak links (fake transport, fake clock)', () => {
  it('pipelines its resume right behind the CONNECT, with the cursor it holds then, and asks nothing after the CONNACK', async () => {
    const { client, clock, transports } = fakeClient({ cursor: 4 })
    const connected = client.connect()
    const first = await transports.waitFor(1)
    expect(first.options.pipelined?.map((p) => p.topic)).toEqual(['c/r'])
    expect(ResumeRequest.decode(first.options.pipelined![0]!.payload).cursor).toBe(4)
    await open(first)
    await connected
    first.deliver('u/alice', inboxMessage(5))
    await statusAfter(client, 'reconnecting', () => first.drop())
    clock.advance(clock.pending[0]!)
    const second = await transports.waitFor(2)
    expect(ResumeRequest.decode(second.options.pipelined![0]!.payload).cursor).toBe(5)
    await open(second)
    // The pipelined request (seen first, QoS 0) is the only one: the broker's replay follows the CONNACK.
    expect(second.published('c/r').map((p) => p.payload)).toEqual([second.options.pipelined![0]!.payload])
    expect(second.publishes.filter((p) => p.topic === 'c/r').map((p) => p.qos)).toEqual([0])
    await client.close()
  })

  it('sends no resume from a send-only device', async () => {
    const { client, transports } = fakeClient({ sendOnly: true })
    const connected = client.connect()
    const first = await transports.waitFor(1)
    expect(first.options.pipelined).toEqual([])
    first.accept()
    await first.until(() => first.subscribes.length === 3)
    for (const s of first.subscribes) s.resolve()
    await connected
    await client.close()
  })

  it('smooths the round trip as RFC 6298 does, and calls an acknowledgement overdue after max(3 × SRTT, 1 s) and a reconnect handshake slow after max(2 × SRTT, 1 s)', () => {
    const rtt = new RttEstimator()
    expect([rtt.srttMs, rtt.overdueMs(), rtt.handshakeTimeoutMs()]).toEqual([1000, 3000, undefined])
    rtt.sample(100)
    expect([rtt.srttMs, rtt.rttvarMs, rtt.overdueMs(), rtt.handshakeTimeoutMs()]).toEqual([100, 50, 1000, 1000])
    rtt.sample(200)
    expect([rtt.srttMs, rtt.rttvarMs]).toEqual([112.5, 62.5])
    for (let i = 0; i < 60; i++) rtt.sample(600)
    expect(rtt.overdueMs()).toBeCloseTo(1800, 0)
    expect(rtt.handshakeTimeoutMs()).toBeCloseTo(1200, 0)
  })

  it('probes an overdue acknowledgement with PINGREQ and, unanswered, reconnects at once and sends again', async () => {
    const { client, clock, transports, first } = await connectedClient()
    await measureRtt400(client, clock, first)
    // SRTT 400 ms: overdue after max(1200, 1000) ms.
    void client.send('bob', 'two').catch(() => {})
    await first.until(() => first.published('s/bob').length === 2)
    clock.advance(1199)
    expect(first.pings).toHaveLength(0)
    clock.advance(1)
    expect(first.pings).toHaveLength(1)
    clock.advance(1199)
    expect(first.closedByClient).toBe(false)
    const reconnecting = statusAfter(client, 'reconnecting', () => clock.advance(1))
    expect(await reconnecting).toEqual({ type: 'reconnecting', attempt: 1, delayMs: 0 })
    expect(first.closedForcibly).toBe(true)
    // No backoff delay: the next connection is asked for at once, and the send goes again on it.
    const second = await transports.waitFor(2)
    await open(second)
    await second.until(() => second.published('s/bob').length === 1)
    expect(DirectSend.decode(second.published('s/bob')[0]!.payload).body).toBe('two')
    await client.close()
  })

  it('keeps the connection when the probe is answered, and waits a full overdue time again', async () => {
    const { client, clock, first } = await connectedClient()
    void client.send('bob', 'slow').catch(() => {})
    await first.until(() => first.published('s/bob').length === 1)
    // No sample yet: the initial 1 s round trip makes it overdue after 3 s.
    clock.advance(3000)
    expect(first.pings).toHaveLength(1)
    clock.advance(500)
    first.pings[0]!.resolve()
    await settle()
    clock.advance(2999)
    expect([first.pings.length, first.closedByClient]).toEqual([1, false])
    clock.advance(1)
    expect(first.pings).toHaveLength(2)
    await client.close()
  })

  it('after reconnectNow() (the network is back) sends its unconfirmed messages behind the CONNECT at QoS 0; a stored-ack settles each, and one without it goes again at QoS 1 an overdue time after the CONNACK', async () => {
    const { client, clock, transports, first } = await connectedClient()
    await measureRtt400(client, clock, first)
    const sends = ['two', 'three'].map((body) => client.send('bob', body))
    await first.until(() => first.published('s/bob').length === 3)
    await statusAfter(client, 'reconnecting', () => client.reconnectNow())
    const second = await transports.waitFor(2)
    expect(second.options.pipelined?.map((p) => p.topic)).toEqual(['c/r', 's/bob', 's/bob'])
    expect(second.options.pipelined!.slice(1).map((p) => DirectSend.decode(p.payload).body)).toEqual(['two', 'three'])
    await open(second)
    await settle()
    // The copies are all: nothing at QoS 1 while their stored-acks may come.
    expect(second.published('s/bob').map((p) => p.qos)).toEqual([0, 0])
    second.deliver('u/alice/a', storedAck(DirectSend.decode(second.published('s/bob')[0]!.payload).clientMsgId as Uint8Array, 2))
    expect((await sends[0]!).cseq).toBe(2)
    // SRTT 400 ms: 'three' is overdue after max(1200, 1000) ms, and goes again, now at QoS 1.
    clock.advance(1199)
    expect(second.published('s/bob')).toHaveLength(2)
    clock.advance(1)
    await second.until(() => second.published('s/bob').length === 3)
    const again = second.published('s/bob')[2]!
    expect([DirectSend.decode(again.payload).body, again.qos]).toEqual(['three', 1])
    await acknowledge(second, 2, 3)
    expect((await sends[1]!).cseq).toBe(3)
    await client.close()
  })

  it('counts early copies in the send window, and publishes what waits behind them as soon as their stored-acks come', async () => {
    const { client, transports, first } = await connectedClient({ maxInFlight: 2 })
    const early = ['one', 'two'].map((body) => client.send('bob', body))
    await first.until(() => first.published('s/bob').length === 2)
    await statusAfter(client, 'reconnecting', () => client.reconnectNow())
    const second = await transports.waitFor(2)
    await open(second)
    const later = client.send('bob', 'three')
    await settle()
    // The window (2) is taken by the copies still unconfirmed: 'three' waits.
    expect(second.published('s/bob').map((p) => DirectSend.decode(p.payload).body)).toEqual(['one', 'two'])
    for (const [i, copy] of second.published('s/bob').entries()) second.deliver('u/alice/a', storedAck(DirectSend.decode(copy.payload).clientMsgId as Uint8Array, i + 1))
    await Promise.all(early)
    // No timer ran: the stored-acks themselves let it go.
    await second.until(() => second.published('s/bob').length === 3)
    expect(DirectSend.decode(second.published('s/bob')[2]!.payload).body).toBe('three')
    await acknowledge(second, 2, 3)
    expect((await later).cseq).toBe(3)
    await client.close()
  })

  it('pipelines no sends on attempts it was not told the network is back for: a lost attempt would carry them for nothing', async () => {
    const { client, clock, transports, first } = await connectedClient()
    void client.send('bob', 'two').catch(() => {})
    await first.until(() => first.published('s/bob').length === 1)
    await statusAfter(client, 'reconnecting', () => first.drop(new Error('ETIMEDOUT')))
    clock.advance(clock.pending[0]!)
    const second = await transports.waitFor(2)
    await settle()
    expect(second.options.pipelined?.map((p) => p.topic)).toEqual(['c/r'])
    // Told while an attempt was under way: the fresh attempt carries the send, and a later one, unasked, does not.
    client.reconnectNow()
    const third = await transports.waitFor(3)
    expect(third.options.pipelined?.map((p) => p.topic)).toEqual(['c/r', 's/bob'])
    third.refuse(new Error('ENETUNREACH'))
    await settle()
    clock.advance(clock.pending[0]!)
    const fourth = await transports.waitFor(4)
    expect(fourth.options.pipelined?.map((p) => p.topic)).toEqual(['c/r'])
    await open(fourth)
    await fourth.until(() => fourth.published('s/bob').length === 1)
    expect(fourth.published('s/bob')[0]!.qos).toBe(1)
    await client.close()
  })

  it('reconnectNow() drops the open connection, and cuts a backoff delay short', async () => {
    const { client, clock, transports, first } = await connectedClient({ backoff: { baseMs: 10_000, capMs: 60_000 } })
    expect(await statusAfter(client, 'reconnecting', () => client.reconnectNow())).toEqual({ type: 'reconnecting', attempt: 1, delayMs: 0 })
    expect(first.closedForcibly).toBe(true)
    const second = await transports.waitFor(2)
    second.refuse(new Error('ENETUNREACH'))
    await settle()
    expect(clock.pending).toEqual([5000])
    client.reconnectNow()
    await transports.waitFor(3)
    expect(clock.now()).toBe(0)
    await client.close()
  })

  it('abandons a reconnect the network does not answer within max(2 × SRTT, 1 s) and tries a fresh socket at once; a refusal still backs off', async () => {
    const { client, clock, transports, second } = await reconnectingAfterRtt()
    clock.advance(999)
    expect(second.closedByClient).toBe(false)
    const restarted = statusAfter(client, 'reconnecting', () => clock.advance(1))
    expect(await restarted).toMatchObject({ delayMs: 0, error: { name: 'LinkSilentError' } })
    expect(second.closedForcibly).toBe(true)
    // No backoff delay: the fresh socket is asked for at once.
    const third = await transports.waitFor(3)
    // Once the network answers, the attempt waits for its CONNACK; the bound no longer applies.
    third.establish()
    clock.advance(5000)
    expect([third.closedByClient, transports.made.length]).toEqual([false, 3])
    // A refusal (RST, a CONNACK code) is the broker speaking: it waits a backoff delay, no storm.
    third.refuse(new Error('ECONNREFUSED'))
    await settle()
    expect(transports.made).toHaveLength(3)
    expect(clock.pending).toEqual([500])
    await client.close()
  })

  it('reconnectNow() during an attempt abandons its socket and starts a fresh one at once', async () => {
    const { client, clock, transports, first } = await connectedClient()
    await statusAfter(client, 'reconnecting', () => first.drop(new Error('ETIMEDOUT')))
    clock.advance(clock.pending[0]!)
    const second = await transports.waitFor(2)
    await settle()
    // No RTT measured yet, so no handshake bound: the attempt would wait on the kernel's SYN backoff.
    expect(clock.pending).toEqual([])
    client.reconnectNow()
    const third = await transports.waitFor(3)
    expect([second.closedForcibly, clock.now()]).toEqual([true, 250])
    await open(third)
    await settle()
    expect(client.status.type).toBe('connected')
    await client.close()
  })

  it('tries an unanswering network again at once for a minute, then waits its backoff delays again', async () => {
    const { client, clock, transports } = await reconnectingAfterRtt()
    // Handshake bound 1 s: each attempt is cut after a second and the next asked for at once. The
    // minute counts from the first cut (1.25 s after the drop), so transports 3 to 62 come at once.
    for (let made = 2; made <= 61; made++) {
      clock.advance(1000)
      await transports.waitFor(made + 1)
      await settle()
    }
    const backedOff = statusAfter(client, 'reconnecting', () => clock.advance(1000))
    expect(await backedOff).toMatchObject({ delayMs: 500, error: { name: 'LinkSilentError' } })
    expect(transports.made).toHaveLength(62)
    // The app's connectivity event still cuts the delay short.
    client.reconnectNow()
    await transports.waitFor(63)
    await client.close()
  })
})
