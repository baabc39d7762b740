import { ClassicLevel } from 'classic-level'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { keys } from '../../storage/embedded/keys.js'
import { Sequences } from '../../storage/embedded/sequences.js'
import { tempDirs } from '../helpers/temp-dirs.js'

const tempDir = tempDirs('lowband-sequences-')
const x = Buffer.from('x')
/** Inbox entries 1..count of a user, as appends leave them. */
const inbox = (userId: string, count: number, from = 1): Array<{ type: 'put', key: string, value: Uint8Array }> =>
  Array.from({ length: count - from + 1 }, (_, i) => ({ type: 'put', key: keys.inbox(userId, from + i), value: x }))

describe('sequences', () => {
  let db: ClassicLevel<string, Uint8Array>
  beforeEach(async () => {
    db = new ClassicLevel<string, Uint8Array>(await tempDir(), { keyEncoding: 'utf8', valueEncoding: 'view' })
    await db.open()
  })
  afterEach(() => db.close())

  it('ensureAll loads only the counters not yet loaded, from the last key of each range, and asks nothing once all are', async () => {
    await db.batch([...inbox('alice', 7), ...inbox('bob', 3)])
    const sequences = new Sequences(db, true)
    const asked: number[] = []
    const ranges = [keys.inboxRange('alice'), keys.inboxRange('bob')]
    const rangeOf = (i: number): { gt: string, lt: string } => { asked.push(i); return ranges[i]! }

    await sequences.ensure('i:alice', ranges[0]!)
    await sequences.ensureAll(['i:alice', 'i:bob'], rangeOf)
    expect(asked).toEqual([1])
    expect(sequences.take('i:alice')).toBe(8)
    expect(sequences.take('i:bob')).toBe(4)

    expect(sequences.ensureAll(['i:alice', 'i:bob'], rangeOf)).toBeUndefined()
    expect(asked).toEqual([1])
  })

  it('finds a sequence without its entry 1 empty at once, with no iterator, and reads the head of one that has it', async () => {
    await db.batch(inbox('alice', 5))
    const sequences = new Sequences(db, true)
    const iterators = vi.spyOn(db, 'keys')
    const ranges = [keys.inboxRange('carol'), keys.conversationRange('d:carol:dave')]
    expect(sequences.ensureAll(['i:carol', 'c:d:carol:dave'], (i) => ranges[i]!)).toBeUndefined()
    expect(iterators).not.toHaveBeenCalled()
    expect([sequences.take('i:carol'), sequences.take('c:d:carol:dave'), sequences.take('i:carol')]).toEqual([1, 1, 2])

    await sequences.ensureAll(['i:alice', 'i:carol'], (i) => [keys.inboxRange('alice'), ranges[0]!][i]!)
    expect(iterators).toHaveBeenCalledTimes(1)
    expect(sequences.take('i:alice')).toBe(6)
  })

  it('in a store that may have holes (repaired), continues after the last entry even when entry 1 is gone', async () => {
    await db.batch(inbox('alice', 7, 4))
    const sequences = new Sequences(db, false)
    await sequences.ensure('i:alice', keys.inboxRange('alice'))
    expect(sequences.take('i:alice')).toBe(8)
  })
})
