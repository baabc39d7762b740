import { describe, expect, it } from 'vitest'
import type { InboxMessage } from '../../protocol/envelopes.js'
import { InboxSequencer, type InboxSlot } from '../../clients/sdk/inbox-sequencer.js'
import { FakeClock } from './helpers/fake-clock.js'

function message (seq: number): InboxSlot {
  const m: InboxMessage = { from: 'bob', body: `#${seq}`, seq, cseq: seq, ts: 1 }
  return { type: 'message', message: m }
}

function setUp (cursor = 0) {
  const clock = new FakeClock()
  const delivered: number[] = []
  const cursors: number[] = []
  const gaps: number[] = []
  const caughtUp: number[] = []
  const sequencer = new InboxSequencer(cursor, clock, 3000, {
    deliver: (slot) => delivered.push(slot.type === 'message' ? slot.message.seq : slot.receipt.seq),
    cursor: (c) => cursors.push(c),
    caughtUp: (c) => caughtUp.push(c),
    gap: (c) => gaps.push(c)
  })
  return { clock, sequencer, delivered, cursors, gaps, caughtUp }
}

describe('InboxSequencer', () => {
  it('delivers out-of-order seqs in order, each once', () => {
    const { sequencer, delivered, cursors } = setUp()
    for (const seq of [3, 5, 2, 3, 1, 4, 2, 5]) sequencer.accept(seq, message(seq))
    expect(delivered).toEqual([1, 2, 3, 4, 5])
    expect(cursors).toEqual([1, 2, 3, 4, 5])
    expect(sequencer.buffered).toBe(0)
  })

  it('starts after the given cursor and drops what is at or below it', () => {
    const { sequencer, delivered } = setUp(10)
    sequencer.accept(9, message(9))
    sequencer.accept(10, message(10))
    sequencer.accept(11, message(11))
    expect(delivered).toEqual([11])
    expect(sequencer.cursor).toBe(11)
  })

  it('lets a stored-ack fill a seq without delivering anything', () => {
    const { sequencer, delivered, cursors } = setUp()
    sequencer.accept(2, message(2))
    sequencer.accept(1, { type: 'sent' })
    expect(delivered).toEqual([2])
    expect(cursors).toEqual([1, 2])
  })

  it('asks for a replay from the cursor when a gap makes no progress for the gap timeout', () => {
    const { clock, sequencer, gaps, delivered } = setUp()
    sequencer.accept(1, message(1))
    sequencer.accept(3, message(3))
    clock.advance(2999)
    expect(gaps).toEqual([])
    clock.advance(1)
    expect(gaps).toEqual([1])
    // It keeps asking while the gap stays open.
    clock.advance(3000)
    expect(gaps).toEqual([1, 1])
    sequencer.accept(2, message(2))
    expect(delivered).toEqual([1, 2, 3])
    expect(clock.pending).toEqual([])
  })

  it('restarts the gap timer on every step forward, so a flowing replay is not asked for twice', () => {
    const { clock, sequencer, gaps } = setUp()
    sequencer.accept(10, message(10))
    for (let seq = 1; seq <= 8; seq++) {
      clock.advance(2000)
      sequencer.accept(seq, message(seq))
    }
    expect(gaps).toEqual([])
    clock.advance(3000)
    expect(gaps).toEqual([8])
  })

  it('reports caught-up when the cursor reaches the synced head, and treats a head ahead as a gap', () => {
    const { clock, sequencer, caughtUp, gaps } = setUp()
    sequencer.accept(1, message(1))
    sequencer.synced(2)
    expect(caughtUp).toEqual([])
    clock.advance(3000)
    expect(gaps).toEqual([1])
    sequencer.accept(2, message(2))
    expect(caughtUp).toEqual([2])
    sequencer.synced(2)
    expect(caughtUp).toEqual([2, 2])
  })

  it('holds the gap timer while paused (disconnected) and rearms it on restart', () => {
    const { clock, sequencer, gaps } = setUp()
    sequencer.accept(2, message(2))
    sequencer.pause()
    clock.advance(10_000)
    expect(gaps).toEqual([])
    sequencer.restart()
    clock.advance(3000)
    expect(gaps).toEqual([0])
  })
})
