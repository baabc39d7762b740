import { describe, expect, it } from 'vitest'
import { ReceiptWindows, type SetTimer } from '../../hooks/receipt-windows.js'

/** Timers that fire only when the test advances time. */
function fakeTimers (): { setTimer: SetTimer, advance: (ms: number) => void, pending: () => number } {
  let now = 0
  const timers = new Set<{ at: number, callback: () => void }>()
  return {
    setTimer: (delayMs, callback) => {
      const timer = { at: now + delayMs, callback }
      timers.add(timer)
      return () => timers.delete(timer)
    },
    advance (ms) {
      now += ms
      for (const timer of [...timers].sort((a, b) => a.at - b.at)) {
        if (timer.at > now) continue
        timers.delete(timer)
        timer.callback()
      }
    },
    pending: () => timers.size
  }
}

function windows (windowMs: number) {
  const timers = fakeTimers()
  const flushed: Array<[number, string]> = []
  let now = 0
  const receipts = new ReceiptWindows(windowMs, async (conversation) => { flushed.push([now, conversation]) }, timers.setTimer)
  return { receipts, flushed, timers, advance: (ms: number) => { now += ms; timers.advance(ms) } }
}

describe('delivered receipt windows', () => {
  it('flushes a quiet conversation at once, holds what moves during its window, and flushes that when the window ends', () => {
    const { receipts, flushed, advance } = windows(50)
    receipts.moved('d:alice:bob')
    expect(flushed).toEqual([[0, 'd:alice:bob']])
    advance(10)
    receipts.moved('d:alice:bob')
    advance(20)
    receipts.moved('d:alice:bob')
    expect(flushed).toHaveLength(1)
    advance(20) // t = 50: the window ends with moves held
    expect(flushed).toEqual([[0, 'd:alice:bob'], [50, 'd:alice:bob']])
    // The flush at 50 opened a new window: a move at 60 waits for its end at 100.
    advance(10)
    receipts.moved('d:alice:bob')
    advance(39)
    expect(flushed).toHaveLength(2)
    advance(1)
    expect(flushed.at(-1)).toEqual([100, 'd:alice:bob'])
  })

  it('lets a window with nothing held close, so the next move is flushed at once again', () => {
    const { receipts, flushed, timers, advance } = windows(50)
    receipts.moved('g:g1')
    advance(50)
    expect(flushed).toEqual([[0, 'g:g1']])
    expect(receipts.open).toBe(0)
    expect(timers.pending()).toBe(0)
    advance(5)
    receipts.moved('g:g1')
    expect(flushed).toEqual([[0, 'g:g1'], [55, 'g:g1']])
  })

  it('keeps one window per conversation: another conversation is not held by this one', () => {
    const { receipts, flushed } = windows(50)
    receipts.moved('d:alice:bob')
    receipts.moved('d:alice:carol')
    receipts.moved('d:alice:bob')
    expect(flushed).toEqual([[0, 'd:alice:bob'], [0, 'd:alice:carol']])
  })

  it('flushes every move at once with a window of 0', () => {
    const { receipts, flushed, timers } = windows(0)
    receipts.moved('d:alice:bob')
    receipts.moved('d:alice:bob')
    expect(flushed).toHaveLength(2)
    expect(timers.pending()).toBe(0)
  })

  it('flushes what is held when closed, and nothing after', async () => {
    const { receipts, flushed, timers, advance } = windows(50)
    receipts.moved('d:alice:bob')
    receipts.moved('d:alice:carol')
    receipts.moved('d:alice:bob') // held
    await receipts.close()
    expect(flushed).toEqual([[0, 'd:alice:bob'], [0, 'd:alice:carol'], [0, 'd:alice:bob']])
    expect(timers.pending()).toBe(0)
    receipts.moved('d:alice:bob')
    advance(100)
    expect(flushed).toHaveLength(3)
  })
})
