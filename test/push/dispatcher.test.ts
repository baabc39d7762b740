import { describe, expect, it } from 'vitest'
import type { PushMessage, PushOutcome, PushProvider } from '../../push/contracts.js'
import { PushDispatcher } from '../../push/dispatcher.js'
import { FakeClock } from '../clients/helpers/fake-clock.js'
import { capturingLog, countingMetrics, settle } from './helpers.js'

const message = (token: string, q = '1'): PushMessage => ({ token, platform: 'android', data: { c: 'alice', q, n: '1' }, collapseKey: 'u:alice', priority: 'high', ttlSeconds: 60 })

/** A provider whose sends wait until the test answers them. */
function scriptedProvider () {
  const calls: Array<{ message: PushMessage, answer: (outcome: PushOutcome) => void }> = []
  const provider: PushProvider = {
    name: 'scripted',
    send: (m) => new Promise((resolve) => calls.push({ message: m, answer: resolve })),
    close: () => Promise.resolve()
  }
  return { provider, calls }
}

function setup (options: { concurrency?: number, maxQueue?: number, maxAttempts?: number, calm?: { run: (work: () => void) => void } } = {}) {
  const clock = new FakeClock()
  const { provider, calls } = scriptedProvider()
  const metrics = countingMetrics()
  const { log, lines } = capturingLog()
  const dead: string[] = []
  const dispatcher = new PushDispatcher({
    provider, clock, log, metrics,
    retry: { baseMs: 1000, capMs: 60_000, maxAttempts: options.maxAttempts ?? 6 },
    maxQueue: options.maxQueue ?? 100,
    concurrency: options.concurrency ?? 1,
    onUnregistered: (m) => dead.push(m.token),
    // The top of each jitter range, so delays are exact.
    random: () => 0.999999,
    ...(options.calm === undefined ? {} : { calm: options.calm })
  })
  const answer = async (outcome: PushOutcome): Promise<void> => {
    calls.shift()!.answer(outcome)
    await settle()
  }
  return { clock, calls, metrics, lines, dead, dispatcher, answer }
}

describe('push dispatcher', () => {
  it('starts no send while the event loop is busy, then one send per grant of the gate, oldest first with the newest content', async () => {
    const held: Array<() => void> = []
    const { calls, dispatcher } = setup({ concurrency: 2, calm: { run: (work) => held.push(work) } })
    dispatcher.enqueue('bob/phone/u:alice', message('bob', '1'))
    dispatcher.enqueue('carol/phone/u:alice', message('carol'))
    dispatcher.enqueue('bob/phone/u:alice', message('bob', '2'))
    dispatcher.enqueue('dave/phone/u:alice', message('dave'))
    await settle()
    expect(calls).toHaveLength(0)
    expect(held).toHaveLength(1) // one wait, however many pushes arrive meanwhile
    held.shift()!()
    expect(calls.map((c) => [c.message.token, c.message.data.q])).toEqual([['bob', '2']])
    held.shift()!()
    expect(calls.map((c) => [c.message.token, c.message.data.q])).toEqual([['bob', '2'], ['carol', '1']])
    expect(held).toHaveLength(0) // two in flight: the concurrency; dave waits for a send to finish
  })

  it('replaces a queued push with a newer one for the same device and conversation', async () => {
    const { calls, metrics, dispatcher, answer } = setup()
    dispatcher.enqueue('bob/phone/u:alice', message('busy'))
    dispatcher.enqueue('bob/phone/u:carol', message('t', '1'))
    dispatcher.enqueue('bob/phone/u:carol', message('t', '2'))
    await answer({ kind: 'sent' })
    expect(calls.map((c) => c.message.data.q)).toEqual(['2'])
    await answer({ kind: 'sent' })
    expect(metrics.counts).toEqual({ sent: 2, coalesced: 1 })
  })

  it('keeps its queue bounded, dropping the oldest push and saying so once', async () => {
    const { calls, metrics, lines, dispatcher } = setup({ maxQueue: 3 })
    for (let i = 0; i < 10; i++) dispatcher.enqueue(`k${i}`, message(`t${i}`))
    expect(calls).toHaveLength(1) // t0 in flight, then t7, t8, t9 queued
    expect(dispatcher.backlog).toBe(3)
    expect(metrics.counts['failed:queue-full']).toBe(6)
    expect(lines.filter((l) => l.msg.startsWith('push queue full'))).toHaveLength(1)
  })

  it('retries with exponential backoff and full jitter, and gives a push up after its last attempt', async () => {
    const { clock, calls, metrics, dispatcher, answer } = setup({ maxAttempts: 3 })
    dispatcher.enqueue('k', message('t'))
    await answer({ kind: 'retry', reason: '503' })
    expect(clock.pending).toEqual([999]) // random(0, 1000)
    clock.advance(999)
    await answer({ kind: 'retry', reason: '503' })
    expect(clock.pending).toEqual([1999]) // random(0, 2000)
    clock.advance(1999)
    await answer({ kind: 'retry', reason: '503' })
    expect(calls).toEqual([])
    expect(clock.pending).toEqual([])
    expect(metrics.counts).toEqual({ retried: 2, 'failed:gave-up': 1 })
  })

  it('waits at least the Retry-After, and holds every other push back until then', async () => {
    const { clock, calls, dispatcher, answer } = setup({ concurrency: 2 })
    dispatcher.enqueue('a', message('ta'))
    await answer({ kind: 'retry', reason: '429', retryAfterMs: 5000 })
    dispatcher.enqueue('b', message('tb'))
    expect(calls).toEqual([])
    clock.advance(4999)
    expect(calls).toEqual([])
    clock.advance(1)
    expect(calls.map((c) => c.message.token).sort()).toEqual(['ta', 'tb'])
  })

  it('logs one line when the service starts failing and one when it recovers, not one per push', async () => {
    const { clock, lines, dispatcher, answer } = setup({ concurrency: 5 })
    for (let i = 0; i < 5; i++) dispatcher.enqueue(`k${i}`, message(`t${i}`))
    for (let i = 0; i < 5; i++) await answer({ kind: 'retry', reason: 'network timeout' })
    clock.advance(1000)
    for (let i = 0; i < 5; i++) await answer({ kind: 'sent' })
    expect(lines.filter((l) => l.level >= 30).map((l) => l.msg)).toEqual([
      'push service failing: pushes are retried with backoff (logged once until it recovers)',
      'push service recovered'
    ])
    expect(lines.find((l) => l.msg === 'push service recovered')).toMatchObject({ failures: 5 })
  })

  it('hands a dead token to be pruned, and drops a push the service refuses for good', async () => {
    const { calls, metrics, dead, dispatcher, answer } = setup()
    dispatcher.enqueue('a', message('dead'))
    dispatcher.enqueue('b', message('refused'))
    await answer({ kind: 'unregistered', reason: 'UNREGISTERED' })
    await answer({ kind: 'failed', reason: 'SENDER_ID_MISMATCH' })
    expect(dead).toEqual(['dead'])
    expect(calls).toEqual([])
    expect(metrics.counts).toEqual({ 'failed:rejected': 1 })
  })
})
