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

    it('keeps one push token per device, replacing it on re-register', async () => {
      const { directory, close } = await open()
      expect(await directory.pushTokensOf('alice')).toEqual([])
      await directory.registerPushToken('alice', 'phone', 'tok-1', 'android')
      await directory.registerPushToken('alice', 'tablet', 'tok-2', 'ios')
      await directory.registerPushToken('alice', 'phone', 'tok-3', 'android')
      expect(await directory.pushTokensOf('alice')).toEqual([
        { deviceId: 'phone', token: 'tok-3', platform: 'android' },
        { deviceId: 'tablet', token: 'tok-2', platform: 'ios' }
      ])
      // The replaced token is no longer anyone's: removing it finds nobody.
      expect(await directory.removePushToken('tok-1')).toBeUndefined()
      await directory.registerPushToken('alice', 'phone', 'tok-3', 'web')
      expect(await directory.pushTokensOf('alice')).toContainEqual({ deviceId: 'phone', token: 'tok-3', platform: 'web' })
      await close()
    })

    it('moves a token to the device that registers it last, whoever held it', async () => {
      const { directory, close } = await open()
      await directory.registerPushToken('alice', 'phone', 'shared', 'android')
      await directory.registerPushToken('bob', 'phone', 'shared', 'android')
      expect(await directory.pushTokensOf('alice')).toEqual([])
      expect(await directory.pushTokensOf('bob')).toEqual([{ deviceId: 'phone', token: 'shared', platform: 'android' }])
      await directory.registerPushToken('bob', 'tablet', 'shared', 'android')
      expect(await directory.pushTokensOf('bob')).toEqual([{ deviceId: 'tablet', token: 'shared', platform: 'android' }])
      await close()
    })

    it('unregisters a device token, and removes a dead token wherever it is', async () => {
      const { directory, close } = await open()
      await directory.registerPushToken('alice', 'phone', 'tok-a', 'android')
      await directory.registerPushToken('alice', 'tablet', 'tok-b', 'ios')
      await directory.unregisterPushToken('alice', 'phone')
      await directory.unregisterPushToken('alice', 'laptop')
      expect(await directory.pushTokensOf('alice')).toEqual([{ deviceId: 'tablet', token: 'tok-b', platform: 'ios' }])
      expect(await directory.removePushToken('tok-b')).toBe('alice')
      expect(await directory.removePushToken('tok-b')).toBeUndefined()
      expect(await directory.pushTokensOf('alice')).toEqual([])
      // A token freed by unregistering can be registered again by anyone.
      await directory.registerPushToken('bob', 'phone', 'tok-a', 'web')
      expect(await directory.pushTokensOf('bob')).toEqual([{ deviceId: 'phone', token: 'tok-a', platform: 'web' }])
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
      await directory.registerPushToken('alice', 'phone', 'tok', 'ios')
      await close()
      const again = await reopen()
      expect(await again.directory.hasUser('alice')).toBe(true)
      expect(await again.directory.devicesOf('alice')).toEqual(['phone'])
      expect(await again.directory.presencePrivacy('alice')).toBe(2)
      expect(await again.directory.hasContact('alice', 'bob')).toBe(true)
      expect(await again.directory.lastSeen('alice')).toBe(42)
      expect(await again.directory.group('g1')).toEqual(group())
      expect(await again.directory.pushTokensOf('alice')).toEqual([{ deviceId: 'phone', token: 'tok', platform: 'ios' }])
      expect(await again.directory.removePushToken('tok')).toBe('alice')
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
