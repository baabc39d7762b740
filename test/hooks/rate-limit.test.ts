import { describe, expect, it } from 'vitest'
import { PublishAllowance, TokenBucket } from '../../hooks/rate-limit.js'

describe('TokenBucket', () => {
  it('allows a burst, then the sustained rate', () => {
    let now = 0
    const bucket = new TokenBucket(10, 5, () => now)
    expect(Array.from({ length: 6 }, () => bucket.take())).toEqual([true, true, true, true, true, false])
    now += 100 // one token at 10/s
    expect(bucket.take()).toBe(true)
    expect(bucket.take()).toBe(false)
    expect(bucket.flooding).toBe(false)
  })

  it('only slows a client sending at twice its rate, but flags one far above it', () => {
    let now = 0
    const steady = new TokenBucket(10, 5, () => now)
    for (let i = 0; i < 2000; i++) { now += 50; steady.take() } // 20/s for 100 s
    expect(steady.flooding).toBe(false)

    now = 0
    const flood = new TokenBucket(10, 5, () => now)
    let flagged = -1
    for (let i = 0; i < 100 && flagged < 0; i++) { now += 1; flood.take(); if (flood.flooding) flagged = i }
    expect(flagged).toBe(10) // 5 accepted, then 6 refusals exhaust the allowance of 5
  })
})

describe('PublishAllowance', () => {
  const limits = { perSecond: 10, burst: 5, bytesPerSecond: 1000, bytesBurst: 4000 }

  it('refuses payload bytes over their budget while publishes are left, and refills them at their rate', () => {
    let now = 0
    const allowance = new PublishAllowance(limits, () => now)
    expect(allowance.take(3000)).toBeUndefined()
    expect(allowance.take(1000)).toBeUndefined()
    expect(allowance.take(1)).toEqual({ over: 'payload bytes per second', flooding: false })
    now += 500 // 500 bytes back
    expect(allowance.take(500)).toBeUndefined()
    expect(allowance.take(100)).toEqual({ over: 'payload bytes per second', flooding: false })
  })

  it('refuses publishes over their count whatever their size', () => {
    const allowance = new PublishAllowance(limits, () => 0)
    for (let i = 0; i < 5; i++) expect(allowance.take(1)).toBeUndefined()
    expect(allowance.take(1)).toEqual({ over: 'publishes per second', flooding: false })
  })

  it('charges a payload larger than the byte burst as the burst, so its size is what refuses it', () => {
    let now = 0
    const allowance = new PublishAllowance(limits, () => now)
    expect(allowance.take(1_000_000)).toBeUndefined()
    expect(allowance.take(1)).toEqual({ over: 'payload bytes per second', flooding: false })
    now += 4000
    expect(allowance.take(1_000_000)).toBeUndefined()
  })

  it('flags a connection that keeps sending bytes far above its budget', () => {
    let now = 0
    const allowance = new PublishAllowance({ ...limits, perSecond: 1000, burst: 1000 }, () => now)
    // 3000 of the 4000-byte burst pass; then refusals draw on an allowance of 4000 more.
    const refusals = Array.from({ length: 5 }, () => { now += 1; return allowance.take(1500) })
    expect(refusals.map((r) => r?.flooding)).toEqual([undefined, undefined, false, false, true])
  })
})
