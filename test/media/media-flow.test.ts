import { PutObjectCommand } from '@aws-sdk/client-s3'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { MediaRef } from '../../protocol/media.js'
import { objectKey } from '../../storage/media/keys.js'
import { LowbandError, type ChatMessage, type LowbandClient, type MediaFetch } from '../../clients/sdk/index.js'
import { TestBroker } from '../clients/helpers/broker.js'
import { next } from '../clients/helpers/events.js'
import { blob, createTestBucket, mediaFlags, NO_S3, S3, sha256, testS3Client } from './helpers/s3.js'

const PHOTO = 100 * 1024
const MAX = 200 * 1024

/** A fetch that counts the transfers and may rewrite a request on its way out. */
function watchedFetch (rewrite: (init: Parameters<MediaFetch>[1]) => Parameters<MediaFetch>[1] = (init) => init): { fetch: MediaFetch, calls: string[] } {
  const calls: string[] = []
  return { calls, fetch: async (url, init) => { calls.push(`${init.method} ${new URL(url).pathname}`); return globalThis.fetch(url, rewrite(init)) } }
}

const codeOf = (error: unknown): string | undefined => error instanceof LowbandError ? error.errorName : (error as Error).message

describe.skipIf(S3 === undefined)(`media through object storage${S3 === undefined ? ` (skipped: ${NO_S3})` : ''}`, () => {
  let broker: TestBroker
  let bucket: string
  let alice: LowbandClient
  let bob: LowbandClient
  let carol: LowbandClient

  beforeAll(async () => {
    bucket = await createTestBucket()
    broker = await TestBroker.start({ flags: { ...mediaFlags(bucket), mediaMaxBytes: MAX, mediaTypes: 'image/*,audio/ogg' } })
    carol = await broker.connected('carol', 'phone')
    bob = await broker.connected('bob', 'phone')
    alice = await broker.connected('alice', 'phone')
  })
  afterAll(async () => { await broker?.stop() })

  it('a photo goes up presigned, its message round-trips, and the recipient downloads it intact', async () => {
    const bytes = blob(PHOTO)
    const thumbnail = blob(2000, 3)
    const arrives = next<ChatMessage>((h) => bob.onMessage(h), (m) => m.kind === 1)
    const sent = await alice.sendMedia('bob', bytes, { mime: 'image/jpeg', thumbnail, width: 640, height: 480 })
    expect(sent.media.size).toBe(PHOTO)
    const message = await arrives
    expect(message.id).toBe(sent.id)
    expect(message.media).toMatchObject({ size: PHOTO, mime: 'image/jpeg', width: 640, height: 480 })
    expect(new Uint8Array(message.media!.thumbnail!)).toEqual(thumbnail)
    expect(new Uint8Array(message.media!.sha256)).toEqual(await sha256(bytes))
    expect(await bob.downloadMedia(message)).toEqual(bytes)
    // The sender's other devices and history see the same reference.
    const history = await alice.history('bob')
    expect(history.items.at(-1)?.media?.size).toBe(PHOTO)
  })

  it('in a group, members download and anyone else is refused', async () => {
    const group = await alice.createGroup('hikers', ['bob'])
    const arrives = next<ChatMessage>((h) => bob.onMessage(h), (m) => m.kind === 1 && m.group === group.id)
    const sent = await alice.sendMedia({ group: group.id }, blob(5000), { mime: 'audio/ogg', duration: 4200 })
    const message = await arrives
    expect(message.media?.duration).toBe(4200)
    expect((await bob.downloadMedia(message)).length).toBe(5000)
    // carol is no member: neither the group's message nor (in her own chat with alice) anything at that cseq.
    expect(codeOf(await carol.downloadMedia(message).catch((e: unknown) => e))).toBe('NOT_MEMBER')
    expect(codeOf(await carol.downloadMedia({ ...message, conversation: { user: 'alice' } }).catch((e: unknown) => e))).toBe('MEDIA_MISSING')
    expect(sent.cseq).toBe(message.cseq)
  })

  it('refuses a blob over --media-max-bytes and a type not allowed, before anything is uploaded', async () => {
    const watched = watchedFetch()
    const sender = await broker.connected('alice', 'tablet', { fetch: watched.fetch })
    expect(codeOf(await sender.sendMedia('bob', blob(MAX + 1), { mime: 'image/png' }).catch((e: unknown) => e))).toBe('TOO_LARGE')
    expect(codeOf(await sender.sendMedia('bob', blob(100), { mime: 'video/mp4' }).catch((e: unknown) => e))).toBe('MEDIA_TYPE_REFUSED')
    expect(watched.calls).toEqual([])
  })

  it('an upload with another content type than the slot was signed for is refused by the storage', async () => {
    const watched = watchedFetch((init) => ({ ...init, headers: { ...init.headers, 'content-type': 'text/html' } }))
    const sender = await broker.connected('alice', 'laptop', { fetch: watched.fetch, mediaAttempts: 1 })
    const error = await sender.sendMedia('bob', blob(300), { mime: 'image/png' }).catch((e: unknown) => e)
    expect(error).toMatchObject({ name: 'MediaTransferError', status: 403 })
    expect(watched.calls).toHaveLength(1)
  })

  it('a media message whose object is missing, elsewhere or of another size is refused and not stored', async () => {
    const before = (await bob.history('alice')).items.length
    const bytes = blob(1234)
    const uploaded = await bob.sendMedia('alice', bytes, { mime: 'image/png' })
    const refs = [
      { id: new Uint8Array(12).fill(9), sha256: await sha256(bytes), size: 1234, mime: 'image/png' }, // never uploaded
      uploaded.media, // bob's object: not under alice's prefix
      { ...await upload(alice, bytes), size: 1233 } // alice's, but another size
    ]
    for (const ref of refs) {
      expect(codeOf(await alice.send('bob', MediaRef.encode(ref), { kind: 1 }).catch((e: unknown) => e))).toBe('MEDIA_MISSING')
    }
    expect(codeOf(await alice.send('bob', 'not a MediaRef', { kind: 1 }).catch((e: unknown) => e))).toBe('BAD_ENVELOPE')
    expect((await bob.history('alice')).items.length).toBe(before + 1) // only bob's own photo
  })

  it('the SDK detects a blob that no longer matches its sha256 and keeps nothing of it', async () => {
    const bytes = blob(4096)
    const arrives = next<ChatMessage>((h) => bob.onMessage(h), (m) => m.kind === 1 && m.media?.size === 4096)
    const sent = await alice.sendMedia('bob', bytes, { mime: 'image/gif' })
    const message = await arrives
    const tampered = blob(4096, 99)
    await testS3Client().send(new PutObjectCommand({ Bucket: bucket, Key: objectKey({ owner: 'alice', id: sent.media.id }), Body: tampered, ContentType: 'image/gif' }))
    const error = await bob.downloadMedia(message).catch((e: unknown) => e)
    expect(codeOf(error)).toBe('MEDIA_CORRUPT')
  })
})

/** Uploads through the SDK's slot without sending a message: the MediaRef a message would carry. */
async function upload (client: LowbandClient, bytes: Uint8Array): Promise<MediaRef> {
  // sendMedia to oneself stores a note-to-self; what matters here is the uploaded object.
  return (await client.sendMedia(client.userId, bytes, { mime: 'image/png' })).media
}

describe.skipIf(S3 === undefined)('media without object storage', () => {
  it('media requests and media messages get MEDIA_NOT_CONFIGURED; text still works', async () => {
    const broker = await TestBroker.start()
    try {
      const alice = await broker.connected('alice', 'phone')
      await broker.connected('bob', 'phone')
      expect(codeOf(await alice.sendMedia('bob', blob(10), { mime: 'image/png' }).catch((e: unknown) => e))).toBe('MEDIA_NOT_CONFIGURED')
      const ref = { id: new Uint8Array(12), sha256: new Uint8Array(32), size: 10, mime: 'image/png' }
      expect(codeOf(await alice.send('bob', MediaRef.encode(ref), { kind: 1 }).catch((e: unknown) => e))).toBe('MEDIA_NOT_CONFIGURED')
      expect((await alice.send('bob', 'text still works')).cseq).toBe(1)
    } finally {
      await broker.stop()
    }
  })
})
