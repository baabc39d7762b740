import { describe, expect, it } from 'vitest'
import { TokenBucket } from '../../hooks/rate-limit.js'

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
