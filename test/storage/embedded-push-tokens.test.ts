import { ClassicLevel } from 'classic-level'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { Committer } from '../../storage/embedded/committer.js'
import { EmbeddedPushTokens } from '../../storage/embedded/push-tokens.js'
import { tempDirs } from '../helpers/temp-dirs.js'

/**
 * The embedded store keeps users' push tokens in memory. What must hold: a token registered since
 * start is pushed to without a read, and what memory says is what a fresh read of the disk says,
 * after every change, a read racing a change, and a write that failed after reaching the disk.
 */
const tempDir = tempDirs('lowband-push-tokens-')
const USERS = ['alice', 'bob']

describe('push tokens in the embedded store', () => {
  let db: ClassicLevel<string, Uint8Array>
  let committer: Committer
  beforeEach(async () => {
    db = new ClassicLevel<string, Uint8Array>(await tempDir(), { keyEncoding: 'utf8', valueEncoding: 'view' })
    await db.open()
    committer = new Committer(db)
  })
  afterEach(() => db.close())

  /** Each user's tokens as a store with nothing in memory reads them from disk. */
  const onDisk = async (): Promise<unknown[]> => {
    const fresh = new EmbeddedPushTokens(db, committer)
    return await Promise.all(USERS.map((u) => fresh.of(u)))
  }
  const inMemory = (tokens: EmbeddedPushTokens): Promise<unknown[]> => Promise.all(USERS.map((u) => tokens.of(u)))

  it('answers for a token registered since start without reading the store', async () => {
    const tokens = new EmbeddedPushTokens(db, committer)
    await tokens.register('alice', 'phone', 'tok-1', 'android')
    const iterators = vi.spyOn(db, 'iterator')
    expect(await tokens.of('alice')).toEqual([{ deviceId: 'phone', token: 'tok-1', platform: 'android' }])
    expect(iterators).not.toHaveBeenCalled()
  })

  it('keeps in memory what is on disk through re-registers, tokens moving between devices and users, unregisters and removals', async () => {
    const tokens = new EmbeddedPushTokens(db, committer)
    await inMemory(tokens) // both users read, and kept
    const steps: Array<() => Promise<unknown>> = [
      () => tokens.register('alice', 'tablet', 'tok-t', 'ios'),
      () => tokens.register('alice', 'phone', 'tok-p', 'android'),
      () => tokens.register('bob', 'phone', 'tok-b', 'web'),
      () => tokens.register('alice', 'phone', 'tok-p2', 'android'), // re-register: replaced
      () => tokens.register('alice', 'tablet', 'tok-b', 'ios'), // bob's phone's token moves to alice's tablet; alice's phone keeps its own
      () => tokens.register('alice', 'phone', 'tok-b', 'android'), // and on to alice's phone
      () => tokens.register('bob', 'phone', 'tok-b', 'web'), // and back to bob
      () => tokens.unregister('alice', 'tablet'),
      () => tokens.remove('tok-b'),
      () => tokens.remove('tok-p2')
    ]
    for (const step of steps) {
      await step()
      expect(await inMemory(tokens)).toEqual(await onDisk())
    }
    expect(await inMemory(tokens)).toEqual([[], []])
  })

  it('does not keep what a read saw when a change was written while it ran', async () => {
    const tokens = new EmbeddedPushTokens(db, committer)
    let release!: () => void
    const gate = new Promise<void>((resolve) => { release = resolve })
    const iterator = db.iterator.bind(db)
    vi.spyOn(db, 'iterator').mockImplementationOnce((options) => {
      const real = iterator(options)
      // The read sees the disk before the change, and answers after it.
      return Object.assign(Object.create(real) as typeof real, { all: async () => { const entries = await real.all(); await gate; return entries } })
    })
    const reading = tokens.of('alice')
    await tokens.register('alice', 'phone', 'tok-1', 'android')
    release()
    expect(await reading).toEqual([])
    expect(await tokens.of('alice')).toEqual([{ deviceId: 'phone', token: 'tok-1', platform: 'android' }])
  })

  it('reads the disk again after a write that failed, which may have reached it', async () => {
    const tokens = new EmbeddedPushTokens(db, committer)
    await tokens.register('alice', 'phone', 'tok-1', 'android')
    const write = committer.write.bind(committer)
    vi.spyOn(committer, 'write').mockImplementationOnce(async (ops) => {
      await write(ops)
      throw new Error('IO error: fsync failed')
    })
    await expect(tokens.register('alice', 'tablet', 'tok-2', 'ios')).rejects.toThrow(/fsync/)
    expect(await inMemory(tokens)).toEqual(await onDisk())
    expect(await tokens.of('alice')).toHaveLength(2)
  })
})
