import { ClassicLevel } from 'classic-level'
import { describe, expect, it, vi } from 'vitest'
import { Committer } from '../../storage/embedded/committer.js'
import { tempDirs } from '../helpers/temp-dirs.js'

const tempDir = tempDirs('lowband-committer-')

async function openDb (): Promise<ClassicLevel<string, Uint8Array>> {
  const db = new ClassicLevel<string, Uint8Array>(await tempDir(), { keyEncoding: 'utf8', valueEncoding: 'view' })
  await db.open()
  return db
}

describe('group committer', () => {
  it('writes one turn of writers as one synced batch, straight to classic-level', async () => {
    const db = await openDb()
    try {
      // If an upgrade of classic-level dropped `_batch`, every write would silently take the
      // slower public path: this fails first.
      const fast = vi.spyOn(db as unknown as { _batch: (...args: unknown[]) => Promise<void> }, '_batch')
      const slow = vi.spyOn(db, 'batch')
      const committer = new Committer(db)
      await Promise.all([
        committer.write([{ type: 'put', key: 'a', value: Buffer.from('1') }]),
        committer.write([{ type: 'put', key: 'b', value: Buffer.from('2') }, { type: 'put', key: 'c', value: Buffer.from('3') }])
      ])
      expect(slow).not.toHaveBeenCalled()
      expect(fast).toHaveBeenCalledTimes(1)
      expect(fast.mock.calls[0]![0]).toHaveLength(3)
      expect(fast.mock.calls[0]![1]).toEqual({ sync: true })
      expect(Buffer.from(db.getSync('c')!).toString()).toBe('3')
    } finally {
      await db.close()
    }
  })

  it('rejects every writer of a batch once the database is closed, with level’s own error', async () => {
    const db = await openDb()
    const committer = new Committer(db)
    await db.close()
    await expect(committer.write([{ type: 'put', key: 'a', value: Buffer.from('1') }])).rejects.toMatchObject({ code: 'LEVEL_DATABASE_NOT_OPEN' })
  })
})
