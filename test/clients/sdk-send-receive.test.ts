import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { LowbandError, type ChatMessage, type ChatReceipt } from '../../clients/sdk/index.js'
import { TestBroker } from './helpers/broker.js'
import { collect, next } from './helpers/events.js'

describe('SDK over a real broker', () => {
  let broker: TestBroker
  beforeAll(async () => { broker = await TestBroker.start() })
  afterAll(async () => { await broker.stop() })

  it('sends from one user to another: stored, then delivered live in order', async () => {
    const bob = await broker.connected('bob', 'phone')
    const alice = await broker.connected('alice', 'phone')
    const received = collect<ChatMessage>((h) => bob.onMessage(h), 2)

    const first = await alice.send('bob', 'hi bob')
    const second = await alice.send('bob', new Uint8Array([1, 2, 3]))

    expect(first.id).toMatch(/.+/)
    // Alice's inbox may hold bob's delivered receipt for the first message in between.
    expect(second.seq).toBeGreaterThan(first.seq)
    expect(alice.cursor).toBeGreaterThanOrEqual(second.seq)
    const [m1, m2] = await received.done
    expect(m1).toMatchObject({ id: first.id, from: 'alice', to: 'bob', text: 'hi bob', kind: 0, own: false })
    // The sender stamps its copy with its own clock, the broker the delivery with its own: the same second, or the next.
    expect(m1!.ts - first.ts).toBeGreaterThanOrEqual(-1)
    expect(m1!.ts - first.ts).toBeLessThanOrEqual(1)
    expect(m2).toMatchObject({ id: second.id, from: 'alice', to: 'bob', kind: 0, own: false })
    expect(m2!.text).toBeUndefined()
    expect([...(m2!.body as Uint8Array)]).toEqual([1, 2, 3])
    expect(m2!.seq).toBe(m1!.seq + 1)
    expect(bob.cursor).toBe(m2!.seq)
  })

  it('delivers a send to the sender\'s other device, marked own, with the sender-inbox seq', async () => {
    await broker.connected('dave', 'phone')
    const carolPhone = await broker.connected('carol', 'phone')
    const carolLaptop = await broker.connected('carol', 'laptop')
    const phoneMessages: ChatMessage[] = []
    carolPhone.onMessage((m) => phoneMessages.push(m))
    const echoed = next<ChatMessage>((h) => carolLaptop.onMessage(h))

    const sent = await carolPhone.send('dave', 'from my phone')

    const copy = await echoed
    expect(copy).toMatchObject({ id: sent.id, from: 'carol', to: 'dave', seq: sent.seq, own: true, text: 'from my phone' })
    expect([...(copy.clientMsgId as Uint8Array)]).toEqual([...sent.clientMsgId])
    expect(carolLaptop.cursor).toBe(sent.seq)
    // The sending device hears of it through send() only.
    expect(phoneMessages).toEqual([])
  })

  it('hears of delivery through a receipt that takes its own place in the inbox order', async () => {
    const erin = await broker.connected('erin', 'phone')
    const frank = await broker.connected('frank', 'phone')
    const delivered = next<ChatReceipt>((h) => erin.onReceipt(h))
    const sent = await erin.send('frank', 'did you get this?')
    const receipt = await delivered
    expect(receipt).toEqual({ seq: sent.seq + 1, peer: 'frank', status: 'delivered', cseq: sent.cseq, ts: expect.any(Number), group: false, conversation: { user: 'frank' } })
    expect(erin.cursor).toBe(receipt.seq)
    // The next message to erin comes after the receipt's seq and is not held back by it.
    const reply = next<ChatMessage>((h) => erin.onMessage(h))
    await frank.send('erin', 'yes')
    expect(await reply).toMatchObject({ seq: receipt.seq + 1, text: 'yes' })
  })

  it('rejects a send to an unknown user with the coded LowbandError', async () => {
    const alice = await broker.connected('alice', 'tablet')
    const error = await alice.send('nobody-here', 'hello?').catch((e: unknown) => e)
    expect(error).toBeInstanceOf(LowbandError)
    expect(error).toMatchObject({ code: 4, errorName: 'UNKNOWN_RECIPIENT', message: 'no such user: nobody-here' })
    // The connection stays up and the next send works.
    await expect(alice.send('bob', 'still here')).resolves.toMatchObject({ id: expect.any(String) })
  })
})
