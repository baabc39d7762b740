import { describe, expect, it } from 'vitest'
import type { Directory, Group, Storage } from '../../storage/contracts.js'

/**
 * The one directory contract every adapter passes (invariant 8). `open` returns a fresh, empty
 * directory (and its storage, to close) and a way to reopen the same one.
 */
export function directoryContract (name: string, open: () => Promise<{ directory: Directory, close: () => Promise<void>, reopen: () => Promise<{ directory: Directory, close: () => Promise<void> }> }>): void {
  const group = (over: Partial<Group> = {}): Group => ({
    id: 'g1', name: 'Hikers', createdBy: 'alice', created: 1_700_000_000, admins: ['alice'], members: ['alice', 'bob'], ...over
  })

  describe(`directory contract: ${name}`, () => {
    it('registers users idempotently and knows who exists', async () => {
      const { directory, close } = await open()
      expect(await directory.hasUser('alice')).toBe(false)
      await directory.registerUser('alice')
      await directory.registerUser('alice')
      expect(await directory.hasUser('alice')).toBe(true)
      expect(await directory.hasUser('bob')).toBe(false)
      await close()
    })

    it('records devices per user', async () => {
      const { directory, close } = await open()
      await directory.registerUser('alice')
      await directory.registerDevice('alice', 'phone')
      await directory.registerDevice('alice', 'laptop')
      await directory.registerDevice('alice', 'phone')
      expect(await directory.devicesOf('alice')).toEqual(['laptop', 'phone'])
      expect(await directory.devicesOf('bob')).toEqual([])
      await close()
    })

    it('keeps presence privacy, contacts and last seen', async () => {
      const { directory, close } = await open()
      await directory.registerUser('alice')
      expect(await directory.presencePrivacy('alice')).toBe(0)
      await directory.setPresencePrivacy('alice', 1)
      expect(await directory.presencePrivacy('alice')).toBe(1)
      await directory.addContact('alice', 'bob')
      await directory.addContact('alice', 'bob')
      expect(await directory.hasContact('alice', 'bob')).toBe(true)
      expect(await directory.hasContact('bob', 'alice')).toBe(false)
      await directory.removeContact('alice', 'bob')
      expect(await directory.hasContact('alice', 'bob')).toBe(false)
      expect(await directory.lastSeen('alice')).toBeUndefined()
      await directory.setLastSeen('alice', 1_700_000_123)
      expect(await directory.lastSeen('alice')).toBe(1_700_000_123)
      await close()
    })

    it('creates a group once, and saves its changes with the member index in step', async () => {
      const { directory, close } = await open()
      expect(await directory.createGroup(group())).toBe(true)
      expect(await directory.createGroup(group({ name: 'Other' }))).toBe(false)
      expect(await directory.group('g1')).toEqual(group())
      expect(await directory.group('nope')).toBeUndefined()
      expect(await directory.groupsOf('bob')).toEqual(['g1'])
      await directory.createGroup(group({ id: 'g0', members: ['bob', 'carol'], admins: ['bob'], createdBy: 'bob' }))
      expect(await directory.groupsOf('bob')).toEqual(['g0', 'g1'])
      await directory.saveGroup(group({ name: 'Hikers 2', members: ['alice', 'carol'], admins: ['alice', 'carol'] }))
      expect(await directory.group('g1')).toMatchObject({ name: 'Hikers 2', members: ['alice', 'carol'], admins: ['alice', 'carol'] })
      expect(await directory.groupsOf('bob')).toEqual(['g0'])
      expect(await directory.groupsOf('carol')).toEqual(['g0', 'g1'])
      await close()
    })

    it('keeps a group of 1024 members', async () => {
      const { directory, close } = await open()
      const members = Array.from({ length: 1024 }, (_, i) => `m${i}`)
      await directory.createGroup(group({ id: 'big', members, admins: ['m0'] }))
      expect((await directory.group('big'))!.members).toEqual(members)
      expect(await directory.groupsOf('m1023')).toEqual(['big'])
      await close()
    })

    it('keeps everything across a reopen', async () => {
      const { directory, close, reopen } = await open()
      await directory.registerUser('alice')
      await directory.registerDevice('alice', 'phone')
      await directory.setPresencePrivacy('alice', 2)
      await directory.addContact('alice', 'bob')
      await directory.setLastSeen('alice', 42)
      await directory.createGroup(group())
      await close()
      const again = await reopen()
      expect(await again.directory.hasUser('alice')).toBe(true)
      expect(await again.directory.devicesOf('alice')).toEqual(['phone'])
      expect(await again.directory.presencePrivacy('alice')).toBe(2)
      expect(await again.directory.hasContact('alice', 'bob')).toBe(true)
      expect(await again.directory.lastSeen('alice')).toBe(42)
      expect(await again.directory.group('g1')).toEqual(group())
      await again.close()
    })
  })
}

/** Adapts a Storage factory to the directory contract's shape. */
export function fromStorage (openStorage: () => Promise<Storage>): () => Promise<{ directory: Directory, close: () => Promise<void> }> {
  return async () => {
    const storage = await openStorage()
    return { directory: storage.directory, close: () => storage.close() }
  }
}
