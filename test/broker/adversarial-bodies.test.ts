import type { MqttClient } from 'mqtt'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { encodeEncryptedBody, PublishKeysArgs, RetryRequest } from '../../protocol/e2e.js'
import { KIND } from '../../protocol/envelopes.js'
import { MediaRef } from '../../protocol/media.js'
import { GroupInfo, OP } from '../../protocol/requests.js'
import { Adversary, cbor, expectServing, hex, rawArray, rawMap, type Raw } from '../helpers/adversary.js'
import { onEveryStore } from '../helpers/arena.js'
import { startTestBroker, type TestBroker } from '../helpers/broker.js'
import { request, sendRaw } from '../helpers/chat.js'
import { Inbox } from '../helpers/messages.js'
import { createTestBucket, mediaFlags, NO_S3, S3 } from '../media/helpers/s3.js'

/*
 * Adversarial probes of the bodies the broker reads although they are a message's content: a media
 * message's MediaRef (kind 1), an encrypted body's addressing (kinds 3, 4, 6) and a retry request
 * (kind 5), and the media requests' args — each a device's payload nested inside its payload. Same
 * rules as adversarial.test.ts: the documented code, a kept connection, a bystander pair still
 * served, no error logged, nothing stored lost. Media needs the S3 server `npm test` starts.
 */

onEveryStore('adversarial message bodies', (store, flags) => {
  describe(`adversarial message bodies on ${store}`, () => {
    let broker: TestBroker
    let alice: MqttClient
    let bob: Inbox
    let mallory: Adversary
    let group: string
    let checks = 0

    const key = new Uint8Array(32).fill(5)
    const send = (kind: number, body: Raw, target: Array<[number, Raw]> = []): Raw => rawMap([[1, cbor(`k${++checks}-${Math.round(performance.now())}`)], ...target, [3, body], [4, cbor(kind)]])
    const bytes = (raw: Raw): Raw => cbor(Buffer.from(raw))

    beforeAll(async () => {
      const media = S3 === undefined ? {} : mediaFlags(await createTestBucket())
      broker = await startTestBroker({ rateLimit: 100_000, rateBurst: 100_000, mediaTypes: 'image/*', mediaMaxBytes: 1_048_576, ...media, ...await flags() })
      await (await broker.device('carol', 'phone')).endAsync()
      alice = await broker.device('alice', 'phone')
      const bobDevice = await broker.device('bob', 'phone')
      bob = new Inbox(bobDevice)
      mallory = new Adversary(await broker.device('mallory', 'phone'), 'mallory')
      // bob's phone has keys (the broker checks shapes only, never signatures).
      const keys = PublishKeysArgs.toCbor({ identityKey: key, signedPreKeyId: 1, signedPreKey: key, signature: new Uint8Array(64), preKeys: [[1, key]] })
      expect((await request(bobDevice, 'bob', OP.publishKeys, keys)).code).toBeUndefined()
      group = GroupInfo.fromCbor((await request(alice, 'alice', OP.createGroup, new Map<number, unknown>([[1, 'others'], [2, ['bob']]]))).result).id
      await sendRaw(alice, 'bob', 'stored before')
    })
    afterAll(() => broker.close())

    afterEach(async () => {
      await expectServing(broker, alice, bob, 'bob', `check ${++checks}`)
      const history = await broker.storage.messages.history('bob', 'alice', 0, 100)
      expect(history.items[0]?.message.body).toBe('stored before')
    })

    it('refuses encrypted bodies that are malformed or addressed to the wrong devices, and retry requests that are none', async () => {
      const copies = (entries: Array<[string, string]>): Raw => bytes(encodeEncryptedBody({ copies: new Map(entries.map(([user, device]) => [user, new Map([[device, new Uint8Array(40)]])])) }))
      const cases: Array<[string, string, Raw, Parameters<Adversary['expectRefused']>[1]]> = [
        ['kind 3 with a text body', 's/bob', send(KIND.encrypted, cbor('plain')), 'BAD_KEYS'],
        ['kind 3 with bytes that are no CBOR', 's/bob', send(KIND.encrypted, bytes(hex('ff00'))), 'BAD_ENCODING'],
        ['kind 3 with a user twice in its copies', 's/bob', send(KIND.encrypted, bytes(hex('a1 01 a2 63626f62 a0 63626f62 a0'))), 'BAD_ENCODING'],
        ['kind 3 with copies nested past their depth', 's/bob', send(KIND.encrypted, bytes(hex('a1 01 a1 63626f62 a1 6170 81 81 40'))), 'BAD_ENVELOPE'],
        ['kind 3 with a copy that is text', 's/bob', send(KIND.encrypted, bytes(hex('a1 01 a1 63626f62 a1 6570686f6e65 61 78'))), 'BAD_KEYS'],
        ['kind 3 with copies of a map of numbers', 's/bob', send(KIND.encrypted, bytes(hex('a1 01 a1 01 a1 02 40'))), 'BAD_KEYS'],
        ['kind 3 with no copy for bob\'s phone', 's/bob', send(KIND.encrypted, copies([])), 'DEVICES_CHANGED'],
        ['kind 3 with a copy for a device of someone else', 's/bob', send(KIND.encrypted, copies([['bob', 'phone'], ['carol', 'phone']])), 'DEVICES_CHANGED'],
        ['kind 3 to a user with no keys', 's/carol', send(KIND.encrypted, copies([['carol', 'phone']])), 'NO_KEYS'],
        ['kind 4 to a user', 's/bob', send(KIND.encryptedGroup, bytes(encodeEncryptedBody({ copies: new Map(), shared: new Uint8Array(8) }))), 'BAD_KEYS'],
        ['kind 4 into a group of others', 'c/s', send(KIND.encryptedGroup, bytes(encodeEncryptedBody({ copies: new Map(), shared: new Uint8Array(8) })), [[5, cbor(group)]]), 'NOT_MEMBER'],
        ['kind 6 addressed to no device', 's/bob', send(KIND.resend, copies([])), 'BAD_KEYS'],
        ['kind 5 with a text body', 's/bob', send(KIND.retryRequest, cbor('plaintext past --require-e2e')), 'BAD_ENVELOPE'],
        ['kind 5 with bytes that are no RetryRequest', 's/bob', send(KIND.retryRequest, bytes(cbor(new Map([[1, 'phone']])))), 'BAD_ENVELOPE'],
        ['kind 5 with nested structure', 's/bob', send(KIND.retryRequest, bytes(rawMap([[1, rawArray([rawArray([cbor(1)])])]]))), 'BAD_ENVELOPE']
      ]
      for (const [what, topic, payload, expected] of cases) await mallory.expectRefused({ topic, payload }, expected, what)
      // A retry request that is one is stored (it carries no content).
      const acks = mallory.inbox.on('/a').length
      await mallory.client.publishAsync('s/bob', Buffer.from(send(KIND.retryRequest, bytes(RetryRequest.encode({ device: 'phone', to: 'phone', cseq: 1 })))), { qos: 1 })
      await mallory.inbox.until(() => mallory.inbox.on('/a').length > acks)
    })

    it.skipIf(S3 === undefined)(`refuses media bodies and media requests that are malformed, too costly or not the sender's (${NO_S3})`, async () => {
      const ref = (fields: Partial<MediaRef>): Raw => MediaRef.encode({ id: new Uint8Array(12).fill(1), sha256: new Uint8Array(32), size: 100, mime: 'image/jpeg', ...fields })
      const args = (...fields: unknown[]): Raw => cbor(new Map(fields.map((value, i) => [i + 1, value])))
      const cases: Array<[string, Raw, Parameters<Adversary['expectRefused']>[1]]> = [
        ['a text body', send(KIND.media, cbor('photo.jpg')), 'BAD_ENVELOPE'],
        // 64 KiB of empty maps cost the decoder ~29 ms. This array claims 65 500 and holds 65 000: a
        // decoder would build them all and then fail (BAD_ENCODING); the shape check stops at the fifth.
        ['a body of 65 000 empty maps', send(KIND.media, bytes(Buffer.concat([hex('99ffdc'), Buffer.alloc(65_000, 0xa0)]))), 'BAD_ENVELOPE'],
        ['a body with a key twice', send(KIND.media, bytes(hex('a2 03 01 03 02'))), 'BAD_ENCODING'],
        ['a body of invalid UTF-8', send(KIND.media, bytes(rawMap([[4, hex('62 c328')]]))), 'BAD_ENCODING'],
        ['an id of the wrong length', send(KIND.media, bytes(rawMap([[1, cbor(Buffer.alloc(4))], [2, cbor(Buffer.alloc(32))], [3, cbor(1)], [4, cbor('image/png')]]))), 'BAD_ENVELOPE'],
        ['a mime that is no type', send(KIND.media, bytes(ref({ mime: 'image/../../etc' }))), 'BAD_ENVELOPE'],
        ['a thumbnail over 8 KiB', send(KIND.media, bytes(ref({ thumbnail: new Uint8Array(8193) }))), 'BAD_ENVELOPE'],
        ['a size past --media-max-bytes', send(KIND.media, bytes(ref({ size: Number.MAX_SAFE_INTEGER }))), 'TOO_LARGE'],
        ['an object that was never uploaded (or is someone else\'s)', send(KIND.media, bytes(ref({}))), 'MEDIA_MISSING']
      ]
      for (const [what, payload, expected] of cases) await mallory.expectRefused({ topic: 's/bob', payload }, expected, what)
      const requests: Array<[string, number, Raw, Parameters<Adversary['expectRefused']>[1]]> = [
        ['an upload of 0 bytes', OP.mediaUpload, args(0, 'image/png', Buffer.alloc(32)), 'BAD_ENVELOPE'],
        ['an upload past --media-max-bytes', OP.mediaUpload, args(2 ** 40, 'image/png', Buffer.alloc(32)), 'TOO_LARGE'],
        ['an upload of a refused type', OP.mediaUpload, args(10, 'application/x-sh', Buffer.alloc(32)), 'MEDIA_TYPE_REFUSED'],
        ['an upload with a mime of NUL', OP.mediaUpload, args(10, 'image/png\u0000', Buffer.alloc(32)), 'BAD_ENVELOPE'],
        ['an upload with a short sha256', OP.mediaUpload, args(10, 'image/png', Buffer.alloc(31)), 'BAD_ENVELOPE'],
        ['parts of an upload that is not there', OP.mediaParts, args(Buffer.alloc(12), 'forged-upload-id', 100), 'MEDIA_MISSING'],
        ['completing an upload that is not there', OP.mediaComplete, args(Buffer.alloc(12), 'forged-upload-id', 100), 'MEDIA_MISSING'],
        ['an upload id of 1025 characters', OP.mediaParts, args(Buffer.alloc(12), 'u'.repeat(1025), 100), 'BAD_ENVELOPE'],
        ['a download of a text message', OP.mediaDownload, args('alice', 1), 'MEDIA_MISSING'],
        ['a download past the end', OP.mediaDownload, args('alice', Number.MAX_SAFE_INTEGER), 'MEDIA_MISSING'],
        ['a download from a group of others', OP.mediaDownload, args(group, 1, true), 'NOT_MEMBER'],
        ['a download at cseq 0', OP.mediaDownload, args('alice', 0), 'BAD_ENVELOPE']
      ]
      for (const [what, op, raw, expected] of requests) await mallory.expectRequestRefused(op, raw, expected, what)
    })
  })
})
