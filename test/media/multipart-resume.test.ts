import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ChatMessage, MediaFetch } from '../../clients/sdk/index.js'
import { TestBroker } from '../clients/helpers/broker.js'
import { next } from '../clients/helpers/events.js'
import { blob, createTestBucket, mediaFlags, NO_S3, S3 } from './helpers/s3.js'
import { StorageProxy } from './helpers/proxy.js'

const MiB = 1024 * 1024

describe.skipIf(S3 === undefined)(`multipart upload${S3 === undefined ? ` (skipped: ${NO_S3})` : ''}`, () => {
  let proxy: StorageProxy
  let broker: TestBroker

  beforeAll(async () => {
    proxy = await StorageProxy.start(S3!.url)
    broker = await TestBroker.start({ flags: mediaFlags(await createTestBucket(), proxy.url) })
  })
  afterAll(async () => {
    await broker?.stop()
    await proxy?.stop()
  })

  it('a connection cut in the middle of a part resumes from the parts stored, never from zero', async () => {
    const puts: string[] = []
    const fetch: MediaFetch = async (url, init) => {
      if (init.method === 'PUT') puts.push(new URL(url).searchParams.get('partNumber') ?? 'whole')
      return globalThis.fetch(url, init)
    }
    const bob = await broker.connected('bob', 'phone')
    const alice = await broker.connected('alice', 'phone', { fetch, backoff: { baseMs: 50, capMs: 200 } })
    const bytes = blob(11 * MiB, 5) // parts of 5, 5 and 1 MiB
    const arrives = next<ChatMessage>((h) => bob.onMessage(h), (m) => m.kind === 1)

    proxy.cutAfter(7 * MiB) // two thirds into part 2
    const sent = await alice.sendMedia('bob', bytes, { mime: 'application/zip', name: 'photos.zip' })

    expect(puts).toEqual(['1', '2', '2', '3'])
    const message = await arrives
    expect(message.media).toMatchObject({ size: 11 * MiB, name: 'photos.zip' })
    expect(sent.media.size).toBe(11 * MiB)
    expect(Buffer.from(await bob.downloadMedia(message)).equals(bytes)).toBe(true)
  })
})
