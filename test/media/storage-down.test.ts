import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { LowbandError, type ChatMessage, type LowbandClient } from '../../clients/sdk/index.js'
import { TestBroker } from '../clients/helpers/broker.js'
import { next } from '../clients/helpers/events.js'
import { blob, createTestBucket, mediaFlags, NO_S3, S3 } from './helpers/s3.js'
import { StorageProxy } from './helpers/proxy.js'

const codeOf = (error: unknown): string | undefined => error instanceof LowbandError ? error.errorName : String(error)

describe.skipIf(S3 === undefined)(`object storage down${S3 === undefined ? ` (skipped: ${NO_S3})` : ''}`, () => {
  let proxy: StorageProxy
  let broker: TestBroker
  let alice: LowbandClient
  let bob: LowbandClient

  beforeAll(async () => {
    proxy = await StorageProxy.start(S3!.url)
    broker = await TestBroker.start({ flags: mediaFlags(await createTestBucket(), proxy.url) })
    bob = await broker.connected('bob', 'phone')
    alice = await broker.connected('alice', 'phone')
  })
  afterAll(async () => {
    await broker?.stop()
    await proxy?.stop()
  })

  it('media requests get STORAGE_UNAVAILABLE, text chat goes on, the outage is logged once, media resumes after it', async () => {
    const photo = next<ChatMessage>((h) => bob.onMessage(h), (m) => m.kind === 1)
    await alice.sendMedia('bob', blob(2000), { mime: 'image/png' })
    const stored = await photo

    proxy.down = true
    for (let i = 0; i < 3; i++) {
      expect(codeOf(await alice.sendMedia('bob', blob(2000), { mime: 'image/png' }).catch((e: unknown) => e))).toBe('STORAGE_UNAVAILABLE')
    }
    expect(codeOf(await bob.downloadMedia(stored).catch((e: unknown) => e))).toBe('STORAGE_UNAVAILABLE')
    const text = next<ChatMessage>((h) => bob.onMessage(h), (m) => m.text === 'still here')
    await alice.send('bob', 'still here')
    await text
    expect(broker.logs.filter((line) => line.includes('object storage unavailable'))).toHaveLength(1)

    proxy.down = false
    expect((await bob.downloadMedia(stored)).length).toBe(2000)
    expect((await alice.sendMedia('bob', blob(10), { mime: 'image/png' })).media.size).toBe(10)
    expect(broker.logs.filter((line) => line.includes('object storage answers again'))).toHaveLength(1)
  })
})
