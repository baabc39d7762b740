import { randomBytes } from 'node:crypto'
import { beforeAll, describe, expect, it } from 'vitest'
import type { MediaName, MediaStore, UploadSlot } from '../../storage/media/contract.js'
import { blob, sha256 } from './helpers/s3.js'

/** A fresh name under `owner`'s prefix. */
const nameOf = (owner = 'alice'): MediaName => ({ owner, id: randomBytes(12) })

async function put (url: string, body: Uint8Array, headers: ReadonlyMap<string, string> = new Map()): Promise<number> {
  const response = await fetch(url, { method: 'PUT', body, headers: Object.fromEntries(headers) })
  await response.arrayBuffer()
  return response.status
}

async function get (url: string): Promise<Uint8Array> {
  const response = await fetch(url)
  expect(response.status).toBe(200)
  return new Uint8Array(await response.arrayBuffer())
}

function single (slot: UploadSlot): Extract<UploadSlot, { multipart: false }> {
  if (slot.multipart) throw new Error('expected a single PUT slot')
  return slot
}

function multipart (slot: UploadSlot): Extract<UploadSlot, { multipart: true }> {
  if (!slot.multipart) throw new Error('expected a multipart slot')
  return slot
}

/**
 * The media storage contract (storage/media/contract.ts), run against every adapter with a real
 * server: what a presigned slot accepts and refuses, multipart resume, references and the sweep.
 */
export function mediaStoreContract (adapter: string, open: () => Promise<MediaStore>, skip: string | false): void {
  describe.skipIf(skip !== false)(`media store contract: ${adapter}${skip === false ? '' : ` (skipped: ${skip})`}`, () => {
    let store: MediaStore
    beforeAll(async () => { store = await open() })

    it('a slot takes exactly the declared blob, which then reads back with its size and sha256', async () => {
      const name = nameOf()
      const bytes = blob(1000)
      const slot = single(await store.createUpload(name, { size: bytes.length, mime: 'image/jpeg', sha256: await sha256(bytes) }))
      expect(slot.expires).toBeGreaterThan(Date.now() / 1000)
      expect(await put(slot.url, bytes, slot.headers)).toBe(200)
      const stored = await store.inspect(name)
      expect(stored?.size).toBe(1000)
      expect(Buffer.from(stored!.sha256!).equals(await sha256(bytes))).toBe(true)
      expect(await get((await store.downloadUrl(name)).url)).toEqual(bytes)
    })

    it('a slot refuses another content type or another size, and stores nothing', async () => {
      const name = nameOf()
      const bytes = blob(500)
      const slot = single(await store.createUpload(name, { size: bytes.length, mime: 'image/jpeg', sha256: await sha256(bytes) }))
      expect(await put(slot.url, bytes, new Map([...slot.headers, ['content-type', 'text/html']]))).toBe(403)
      expect(await put(slot.url, bytes.subarray(1), slot.headers)).toBe(403)
      expect(await put(slot.url, blob(501), slot.headers)).toBe(403)
      expect(await store.inspect(name)).toBeUndefined()
    })

    it('a large blob goes in parts; resuming lists only the missing ones; completing needs them all', async () => {
      const name = nameOf()
      const size = store.multipartThreshold + 1024 * 1024
      const bytes = blob(size, 7)
      const slot = multipart(await store.createUpload(name, { size, mime: 'video/mp4', sha256: await sha256(bytes) }))
      expect(slot.parts.length).toBe(Math.ceil(size / slot.partSize))
      expect(slot.parts.every((url) => url !== null)).toBe(true)
      expect(await put(slot.parts[0]!, bytes.subarray(0, slot.partSize))).toBe(200)

      const resumed = multipart(await store.resumeUpload(name, slot.uploadId, size))
      expect(resumed.parts[0]).toBeNull()
      expect(resumed.parts.slice(1).every((url) => url !== null)).toBe(true)
      await expect(store.completeUpload(name, slot.uploadId, size)).rejects.toMatchObject({ errorName: 'MEDIA_MISSING' })

      const statuses: number[] = []
      for (const [index, url] of resumed.parts.entries()) {
        if (url !== null) statuses.push(await put(url, bytes.subarray(index * slot.partSize, (index + 1) * slot.partSize)))
      }
      expect(statuses).toEqual(resumed.parts.slice(1).map(() => 200))
      await store.completeUpload(name, slot.uploadId, size)
      // A repeated request (its first answer lost on the way) finds the object complete.
      await store.completeUpload(name, slot.uploadId, size)
      expect((await store.inspect(name))?.size).toBe(size)
      expect(Buffer.from(await get((await store.downloadUrl(name)).url)).equals(bytes)).toBe(true)
    })

    it('a missing object or upload is an answer, not an outage', async () => {
      const name = nameOf()
      expect(await store.inspect(name)).toBeUndefined()
      await expect(store.downloadUrl(name)).rejects.toMatchObject({ errorName: 'MEDIA_MISSING' })
      await expect(store.resumeUpload(name, 'f00d', 10 * 1024 * 1024)).rejects.toMatchObject({ errorName: 'MEDIA_MISSING' })
    })

    it('the sweep removes old objects no message references, and only those', async () => {
      const owner = `sweep${randomBytes(3).toString('hex')}`
      const kept = nameOf(owner)
      const orphan = nameOf(owner)
      for (const name of [kept, orphan]) {
        const bytes = blob(100)
        const slot = single(await store.createUpload(name, { size: 100, mime: 'text/plain', sha256: await sha256(bytes) }))
        expect(await put(slot.url, bytes, slot.headers)).toBe(200)
      }
      await store.markReferenced(kept)
      expect((await store.sweep(24 * 3600 * 1000)).removed).toBe(0)
      expect(await store.inspect(orphan)).toBeDefined()
      const swept = await store.sweep(0)
      expect(swept.removed).toBeGreaterThanOrEqual(1)
      expect(await store.inspect(orphan)).toBeUndefined()
      expect(await store.inspect(kept)).toBeDefined()
    })
  })
}
