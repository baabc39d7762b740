import { describe, expect, it } from 'vitest'
import { Backoff } from '../../clients/sdk/index.js'

describe('Backoff (full jitter)', () => {
  it('waits random·min(cap, base·2^(n-1)) ms, exactly', () => {
    const backoff = new Backoff({ baseMs: 500, capMs: 30_000 }, () => 0.5)
    const delays = Array.from({ length: 9 }, () => backoff.next())
    expect(delays).toEqual([250, 500, 1000, 2000, 4000, 8000, 15_000, 15_000, 15_000])
    expect(backoff.attempt).toBe(9)
  })

  it('spans the whole window: random 0 waits nothing, random just below 1 waits the ceiling', () => {
    const low = new Backoff({}, () => 0)
    const high = new Backoff({}, () => 0.999_999)
    expect([low.next(), low.next()]).toEqual([0, 0])
    expect([high.next(), high.next(), high.next()]).toEqual([499, 999, 1999])
  })

  it('starts over after reset()', () => {
    const backoff = new Backoff({ baseMs: 100, capMs: 1000 }, () => 0.5)
    backoff.next()
    backoff.next()
    backoff.reset()
    expect(backoff.attempt).toBe(0)
    expect(backoff.next()).toBe(50)
  })

  it('does not overflow after many attempts', () => {
    const backoff = new Backoff({ baseMs: 500, capMs: 30_000 }, () => 0.5)
    for (let i = 0; i < 2000; i++) backoff.next()
    expect(backoff.next()).toBe(15_000)
  })

  it('refuses a cap below the base', () => {
    expect(() => new Backoff({ baseMs: 1000, capMs: 10 })).toThrow(RangeError)
  })
})
