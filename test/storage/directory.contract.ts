import { describe, expect, it } from 'vitest'
import type { DeviceKeyRecord, Directory, Group, Storage } from '../../storage/contracts.js'

/**
 * The one directory contract every adapter passes (invariant 8). `open` returns a fresh, empty
 * directory (and its storage, to close) and a way to reopen the same one.
 */
export function directoryContract (name: string, open: () => Promise<{ directory: Directory, close: () => Promise<void>, reopen: () => Promise<{ directory: Directory, close: () => Promise<void> }> }>): void {
  const group = (over: Partial<Group> = {}): Group => ({
    id: 'g1', name: 'Hikers', createdBy: 'alice', created: 1_700_000_000, admins: ['alice'], members: ['alice', 'bob'], ...over
  })

  const bytes = (fill: number, length = 32): Uint8Array => new Uint8Array(length).fill(fill)
  const deviceKeys = (device: string, identity = 1, spkId = 1): DeviceKeyRecord => ({
    device, identityKey: bytes(identity), signedPreKeyId: spkId, signedPreKey: bytes(100 + spkId), signature: bytes(7, 64)
  })
  const preKeys = (from: number, count: number): Array<{ id: number, key: Uint8Array }> =>
    Array.from({ length: count }, (_, i) => ({ id: from + i, key: bytes((from + i) % 256) }))
  const plain = (record: DeviceKeyRecord): unknown => ({ ...record, identityKey: [...record.identityKey], signedPreKey: [...record.signedPreKey], signature: [...record.signature] })

  describe(`key directory contract: ${name}`, () => {
    it('publishes a device\'s keys, adds one-time prekeys under the same identity and replaces them under a new one', async () => {
      const { directory, close } = await open()
      expect(await directory.deviceKeys('bob')).toEqual([])
      expect(await directory.publishDeviceKeys('bob', deviceKeys('phone'), preKeys(1, 5))).toEqual({ identityChanged: false, preKeys: 5 })
      expect(await directory.publishDeviceKeys('bob', deviceKeys('laptop', 2), [])).toEqual({ identityChanged: false, preKeys: 0 })
      // Same identity: a new signed prekey, more one-time prekeys, an id already held kept once.
      expect(await directory.publishDeviceKeys('bob', deviceKeys('phone', 1, 2), preKeys(5, 3))).toEqual({ identityChanged: false, preKeys: 7 })
      expect((await directory.deviceKeys('bob')).map(plain)).toEqual([deviceKeys('laptop', 2), deviceKeys('phone', 1, 2)].map(plain))
      expect(await directory.preKeyCount('bob', 'phone')).toBe(7)
      // A new identity (the app was reinstalled): the old one-time prekeys go.
      expect(await directory.publishDeviceKeys('bob', deviceKeys('phone', 9), preKeys(1, 2))).toEqual({ identityChanged: true, preKeys: 2 })
      expect([...(await directory.deviceKeys('bob')).find((k) => k.device === 'phone')!.identityKey]).toEqual([...bytes(9)])
      expect(await directory.preKeyCount('bob', 'nope')).toBe(0)
      await close()
    })

    it('hands out a bundle per device, each with its lowest one-time prekey, until they run out', async () => {
      const { directory, close } = await open()
      await directory.publishDeviceKeys('bob', deviceKeys('phone'), preKeys(10, 2))
      await directory.publishDeviceKeys('bob', deviceKeys('laptop', 2), preKeys(20, 1))
      const first = await directory.takeBundles('bob', [])
      expect(first.map((b) => [b.device, b.preKey?.id, b.remaining])).toEqual([['laptop', 20, 0], ['phone', 10, 1]])
      expect([...first[1]!.preKey!.key]).toEqual([...bytes(10)])
      const second = await directory.takeBundles('bob', ['laptop'])
      expect(second.map((b) => [b.device, b.preKey?.id, b.remaining])).toEqual([['phone', 11, 0]])
      const third = await directory.takeBundles('bob', [])
      expect(third.map((b) => [b.device, b.preKey?.id, b.remaining])).toEqual([['laptop', undefined, 0], ['phone', undefined, 0]])
      expect(third[0]!.signedPreKeyId).toBe(1)
      expect(await directory.takeBundles('nobody', [])).toEqual([])
      await close()
    })

    it('never gives two concurrent fetchers the same one-time prekey', async () => {
      const { directory, close } = await open()
      await directory.publishDeviceKeys('bob', deviceKeys('phone'), preKeys(1, 10))
      const fetched = await Promise.all(Array.from({ length: 16 }, () => directory.takeBundles('bob', [])))
      const ids = fetched.map((bundles) => bundles[0]!.preKey?.id).filter((id) => id !== undefined)
      expect(ids.length).toBe(10)
      expect(new Set(ids).size).toBe(10)
      expect(await directory.preKeyCount('bob', 'phone')).toBe(0)
      await close()
    })

    it('remembers who fetched a user\'s keys, across a reopen', async () => {
      const { directory, close, reopen } = await open()
      await directory.addKeyWatcher('bob', 'carol')
      await directory.addKeyWatcher('bob', 'alice')
      await directory.addKeyWatcher('bob', 'carol')
      expect(await directory.keyWatchers('bob')).toEqual(['alice', 'carol'])
      expect(await directory.keyWatchers('alice')).toEqual([])
      await directory.publishDeviceKeys('bob', deviceKeys('phone'), preKeys(1, 3))
      await close()
      const again = await reopen()
      expect(await again.directory.keyWatchers('bob')).toEqual(['alice', 'carol'])
      expect((await again.directory.deviceKeys('bob')).map(plain)).toEqual([plain(deviceKeys('phone'))])
      expect(await again.directory.preKeyCount('bob', 'phone')).toBe(3)
      await again.close()
    })
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
