import { ClassicLevel } from 'classic-level'
import { describe, expect, it } from 'vitest'
import { keys } from '../../storage/embedded/keys.js'
import { Sequences } from '../../storage/embedded/sequences.js'
import { tempDirs } from '../helpers/temp-dirs.js'

const tempDir = tempDirs('lowband-sequences-')

describe('sequences', () => {
  it('ensureAll loads only the counters not yet loaded, from the last key of each range, and asks nothing once all are', async () => {
    const db = new ClassicLevel<string, Uint8Array>(await tempDir(), { keyEncoding: 'utf8', valueEncoding: 'view' })
    await db.open()
    try {
      await db.batch([
        { type: 'put', key: keys.inbox('alice', 7), value: Buffer.from('x') },
        { type: 'put', key: keys.inbox('bob', 3), value: Buffer.from('x') }
      ])
      const sequences = new Sequences(db)
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
    } finally {
      await db.close()
    }
  })
})
