import { describe, expect, it } from 'vitest'
import type { PushMessage, StoredFor } from '../../push/contracts.js'
import { PushPolicy } from '../../push/policy.js'
import { TOKEN_READS_AT_ONCE } from '../../push/token-reads.js'
import type { PushToken } from '../../storage/contracts.js'
import { FakeClock } from '../clients/helpers/fake-clock.js'
import { capturingLog, countingMetrics, settle } from './helpers.js'

const GRACE = 10_000
const WINDOW = 30_000

function setup (tokens: Record<string, PushToken[]>) {
  const clock = new FakeClock()
  const pushes: Array<{ key: string, message: PushMessage }> = []
  const metrics = countingMetrics()
  const connected = new Set<string>()
  const policy = new PushPolicy(
    { graceMs: GRACE, windowMs: WINDOW, ttlSeconds: 86_400, priority: { direct: 'high', group: 'normal' } },
    { tokensOf: (user) => Promise.resolve(tokens[user] ?? []), remove: () => Promise.resolve(undefined) },
    { enqueue: (key, message) => pushes.push({ key, message }) },
    clock, capturingLog().log, metrics)
  const store = async (message: Partial<StoredFor> & { cseq: number }): Promise<void> => {
    policy.stored({ user: 'bob', conversation: 'alice', group: false, seq: message.cseq, ...message }, (device) => connected.has(device))
    await settle()
  }
  return { clock, pushes, metrics, connected, policy, store }
}

const phone: PushToken = { deviceId: 'phone', token: 'tok-phone', platform: 'android' }

describe('push policy: when a push is sent', () => {
  it('pushes a device that is not connected at once: data only, the conversation, its newest cseq and the unread count', async () => {
    const { pushes, store } = setup({ bob: [phone] })
    await store({ cseq: 4, seq: 9 })
    expect(pushes).toEqual([{
      key: 'bob/phone/u:alice',
      message: { token: 'tok-phone', platform: 'android', data: { c: 'alice', q: '4', n: '1' }, collapseKey: 'u:alice', priority: 'high', ttlSeconds: 86_400 }
    }])
  })

  it('pushes group messages at normal priority, named by the group', async () => {
    const { pushes, store } = setup({ bob: [phone] })
    await store({ conversation: 'g1', group: true, cseq: 2 })
    expect(pushes[0]!.message).toMatchObject({ data: { c: 'g1', g: '1', q: '2', n: '1' }, collapseKey: 'g:g1', priority: 'normal' })
  })

  it('gives a connected device the grace period before its push', async () => {
    const { clock, pushes, connected, store } = setup({ bob: [phone] })
    connected.add('phone')
    await store({ cseq: 1, seq: 5 })
    clock.advance(GRACE - 1)
    expect(pushes).toEqual([])
    clock.advance(1)
    expect(pushes.map((p) => p.message.data.q)).toEqual(['1'])
  })

  it('lets the device\'s acknowledgement cancel its push, but not one of an earlier seq', async () => {
    const { clock, pushes, connected, policy, store } = setup({ bob: [phone] })
    connected.add('phone')
    await store({ cseq: 1, seq: 5 })
    policy.acknowledged('bob', 'phone', 5)
    clock.advance(WINDOW * 2)
    expect(pushes).toEqual([])
    await store({ cseq: 2, seq: 6 })
    policy.acknowledged('bob', 'phone', 5)
    policy.acknowledged('bob', 'tablet', 6)
    clock.advance(GRACE)
    expect(pushes.map((p) => p.message.data.q)).toEqual(['2'])
  })

  it('lets a read watermark that covers the message cancel it, on every device of the reader', async () => {
    const { clock, pushes, connected, policy, store } = setup({ bob: [phone, { deviceId: 'tablet', token: 'tok-tablet', platform: 'ios' }] })
    connected.add('phone').add('tablet')
    await store({ cseq: 5 })
    policy.read('bob', 'alice', false, 4)
    policy.read('bob', 'g9', true, 5)
    clock.advance(GRACE)
    expect(pushes).toHaveLength(2) // watermark below the message, and of another conversation: no cancel
    await store({ cseq: 6 })
    policy.read('bob', 'alice', false, 6)
    clock.advance(WINDOW + GRACE)
    expect(pushes).toHaveLength(2)
  })

  it('sends nothing for a user without a token, and nothing after a device lost its token', async () => {
    const tokens: Record<string, PushToken[]> = { bob: [phone] }
    const { clock, pushes, connected, policy, store } = setup(tokens)
    await store({ user: 'carol', cseq: 1 })
    connected.add('phone')
    await store({ cseq: 1 })
    tokens.bob = []
    policy.tokensChanged('bob')
    clock.advance(GRACE)
    await settle()
    expect(pushes).toEqual([])
  })

  it('lets an acknowledgement that overtakes the token read cancel the push', async () => {
    const { clock, pushes, connected, policy } = setup({ bob: [phone] })
    connected.add('phone')
    policy.stored({ user: 'bob', conversation: 'alice', group: false, cseq: 1, seq: 3 }, (device) => connected.has(device))
    policy.acknowledged('bob', 'phone', 3) // before the token read resolved
    await settle()
    clock.advance(GRACE)
    expect(pushes).toEqual([])
  })
})

describe('push policy: token reads', () => {
  it('reads tokens after the turn that stored the messages, a few at a time, and still pushes every sleeping user', async () => {
    const clock = new FakeClock()
    const pushes: PushMessage[] = []
    let started = 0
    let inFlight = 0
    let mostAtOnce = 0
    const tokensOf = async (user: string): Promise<PushToken[]> => {
      started++
      mostAtOnce = Math.max(mostAtOnce, ++inFlight)
      await settle()
      inFlight--
      return [{ deviceId: 'phone', token: `tok-${user}`, platform: 'android' }]
    }
    const policy = new PushPolicy({ graceMs: GRACE, windowMs: WINDOW, ttlSeconds: 60, priority: { direct: 'high', group: 'normal' } },
      { tokensOf, remove: () => Promise.resolve(undefined) }, { enqueue: (_key, message) => pushes.push(message) }, clock, capturingLog().log, countingMetrics())
    const users = Array.from({ length: 20 }, (_, i) => `sleeper${i}`)
    for (const user of users) for (let cseq = 1; cseq <= 3; cseq++) policy.stored({ user, conversation: 'alice', group: false, cseq, seq: cseq }, () => false)
    expect(started).toBe(0) // nothing read inside the publishes
    for (let turn = 0; turn < 100 && pushes.length < users.length; turn++) await settle()
    expect(started).toBe(users.length) // once per user, not per message
    expect(mostAtOnce).toBe(TOKEN_READS_AT_ONCE)
    expect(pushes.map((p) => [p.token, p.data.q, p.data.n])).toEqual(users.map((user) => [`tok-${user}`, '3', '3']))
    await policy.close()
  })
})

describe('push policy: coalescing', () => {
  it('gives one push for 100 messages in 10 s to a sleeping device, then one more after the window with the newest cseq', async () => {
    const { clock, pushes, metrics, store } = setup({ bob: [phone] })
    for (let cseq = 1; cseq <= 100; cseq++) {
      await store({ cseq })
      clock.advance(100)
    }
    expect(pushes.map((p) => p.message.data.q)).toEqual(['1'])
    expect(metrics.counts.coalesced).toBe(99)
    expect(clock.pending).toEqual([WINDOW - 10_000]) // one timer for the entry, not one per message
    clock.advance(WINDOW - 10_000 - 1)
    expect(pushes).toHaveLength(1)
    clock.advance(1)
    expect(pushes.map((p) => p.message.data)).toEqual([{ c: 'alice', q: '1', n: '1' }, { c: 'alice', q: '100', n: '100' }])
  })

  it('sends no second push when what came in the window was acknowledged by its end', async () => {
    const { clock, pushes, policy, store } = setup({ bob: [phone] })
    await store({ cseq: 1, seq: 1 })
    await store({ cseq: 2, seq: 2 })
    policy.acknowledged('bob', 'phone', 2)
    clock.advance(WINDOW * 3)
    expect(pushes).toHaveLength(1)
  })

  it('gives a user with three sleeping devices one push per device', async () => {
    const devices = ['a', 'b', 'c'].map((d) => ({ deviceId: d, token: `tok-${d}`, platform: 'android' as const }))
    const { clock, pushes, store } = setup({ bob: devices })
    for (let cseq = 1; cseq <= 100; cseq++) {
      await store({ cseq })
      clock.advance(100)
    }
    expect(pushes.map((p) => p.message.token)).toEqual(['tok-a', 'tok-b', 'tok-c'])
  })

  it('keeps conversations apart: each has its own window and collapse key', async () => {
    const { pushes, store } = setup({ bob: [phone] })
    await store({ cseq: 1 })
    await store({ conversation: 'carol', cseq: 1 })
    await store({ cseq: 2 })
    expect(pushes.map((p) => p.message.collapseKey)).toEqual(['u:alice', 'u:carol'])
  })
})

describe('push policy: unread count', () => {
  it('counts the messages of every conversation that no read watermark has passed', async () => {
    const { clock, pushes, policy, store } = setup({ bob: [phone] })
    await store({ cseq: 1 })
    await store({ cseq: 2 })
    await store({ conversation: 'g1', group: true, cseq: 7 })
    expect(pushes.at(-1)!.message.data.n).toBe('3')
    policy.read('bob', 'alice', false, 1)
    clock.advance(WINDOW)
    await store({ conversation: 'carol', cseq: 1 })
    expect(pushes.at(-1)!.message.data.n).toBe('3') // alice 2, g1 7, carol 1
    policy.read('bob', 'g1', true, 7)
    policy.read('bob', 'alice', false, 9)
    await store({ conversation: 'dave', cseq: 1 })
    expect(pushes.at(-1)!.message.data.n).toBe('2')
  })
})

describe('push policy: a busy event loop', () => {
  it('reads no token while the event loop is busy; the reads, and then the push, follow once it calms', async () => {
    const held: Array<() => void> = []
    const pushes: PushMessage[] = []
    let started = 0
    const tokensOf = (user: string): Promise<PushToken[]> => {
      started++
      return Promise.resolve([{ deviceId: 'phone', token: `tok-${user}`, platform: 'android' }])
    }
    const policy = new PushPolicy({ graceMs: GRACE, windowMs: WINDOW, ttlSeconds: 60, priority: { direct: 'high', group: 'normal' } },
      { tokensOf, remove: () => Promise.resolve(undefined) }, { enqueue: (_key, message) => pushes.push(message) }, new FakeClock(), capturingLog().log, countingMetrics(),
      { run: (work) => held.push(work) })
    policy.stored({ user: 'bob', conversation: 'alice', group: false, cseq: 1, seq: 1 }, () => false)
    for (let turn = 0; turn < 5; turn++) await settle()
    expect(started).toBe(0)
    expect(pushes).toEqual([])
    for (let turn = 0; turn < 20 && pushes.length === 0; turn++) {
      for (const work of held.splice(0)) work()
      await settle()
    }
    expect(started).toBe(1)
    expect(pushes.map((p) => p.token)).toEqual(['tok-bob'])
    await policy.close()
  })

  it('lets a read watermark that overtakes the token read cancel the push and the unread count', async () => {
    const held: Array<() => void> = []
    const pushes: PushMessage[] = []
    const policy = new PushPolicy({ graceMs: GRACE, windowMs: 0, ttlSeconds: 60, priority: { direct: 'high', group: 'normal' } },
      { tokensOf: () => Promise.resolve([phone]), remove: () => Promise.resolve(undefined) }, { enqueue: (_key, message) => pushes.push(message) },
      new FakeClock(), capturingLog().log, countingMetrics(), { run: (work) => held.push(work) })
    policy.stored({ user: 'bob', conversation: 'alice', group: false, cseq: 1, seq: 1 }, () => false)
    await settle()
    policy.read('bob', 'alice', false, 1) // read on another device while bob's tokens were still being read
    for (let turn = 0; turn < 10; turn++) {
      for (const work of held.splice(0)) work()
      await settle()
    }
    expect(pushes).toEqual([])
    policy.stored({ user: 'bob', conversation: 'alice', group: false, cseq: 2, seq: 2 }, () => false)
    await settle()
    expect(pushes.map((p) => p.data)).toEqual([{ c: 'alice', q: '2', n: '1' }])
    await policy.close()
  })
})

