import { randomBytes } from 'node:crypto'
import { afterEach, describe, expect, it } from 'vitest'
import { Bundle, FetchBundlesResult, MAX_PREKEYS_PER_PUBLISH, PublishKeysArgs } from '../../protocol/e2e.js'
import { DirectSend, ErrorNotice, SendRequest, StoredAck } from '../../protocol/envelopes.js'
import { GroupInfo, OP, PushTokenInfo } from '../../protocol/requests.js'
import { cbor, errorLines, rawMap, type Raw } from '../helpers/adversary.js'
import { onEveryStore, useArena } from '../helpers/arena.js'
import { request } from '../helpers/chat.js'
import { Inbox } from '../helpers/messages.js'

/*
 * The inputs a device controls that reach a column of the store, each at the edge of what it may
 * be — NUL, text of many bytes per character, the longest lengths, the largest numbers — run on the
 * embedded store and on PostgreSQL (which refuses things LevelDB takes: NUL in text, btree keys
 * past ~2700 bytes, numbers past a column's type). The answer must be the same on both: stored and
 * read back unchanged, or the same coded refusal; never a closed connection (a database refusal
 * taken for an outage makes the device resend the same input forever), and the bystander pair
 * still talks after each test (test/helpers/arena.ts). What the protocol refuses before any store
 * (ids, 2^53 and past, wrong types) is in the other adversarial suites.
 */

const MAX = Number.MAX_SAFE_INTEGER
/** Bytes as a Buffer (a store may read them back as either), anything else as it is. */
const comparable = (value: unknown): unknown => value instanceof Uint8Array ? Buffer.from(value) : value
/** Printable ASCII without spaces, as a push token is: random, so PostgreSQL cannot compress it under its index limit. */
const randomToken = (length: number): string => randomBytes(length).toString('base64').replace(/[^\x21-\x7e]/g, 'x').slice(0, length)

onEveryStore('inputs at a column\'s edge', (store, flags) => {
  describe(`inputs at a column's edge, on ${store}`, () => {
    const arena = useArena(flags)
    afterEach(() => { expect(arena.mallory.client.connected, 'the attacker\'s connection').toBe(true) })

    /** Publishes a send and returns its StoredAck, or the ErrorNotice it earned. */
    async function sent (payload: Raw, topic = 's/bob'): Promise<{ ack?: StoredAck, notice?: ErrorNotice }> {
      const { inbox, client } = arena.mallory
      const acks = inbox.on('/a').length
      const notices = inbox.on('/e').length
      await client.publishAsync(topic, Buffer.from(payload), { qos: 1 })
      await inbox.until(() => inbox.on('/a').length > acks || inbox.on('/e').length > notices, 5000, () => `the answer to a send on ${topic}`)
      const notice = inbox.on('/e')[notices]
      return notice === undefined ? { ack: StoredAck.decode(inbox.on('/a')[acks]!.payload) } : { notice: ErrorNotice.decode(notice.payload) }
    }

    it('stores client message ids and bodies with NUL, many-byte characters and the longest lengths, read back unchanged and deduplicated', async () => {
      const { broker } = arena
      const cases: Array<[string, string | Uint8Array | number, string | Uint8Array]> = [
        ['a clientMsgId with NUL', 'a\u0000b', 'nul id'],
        ['a clientMsgId of 64 four-byte characters', '\u{1F600}'.repeat(32), 'emoji id'],
        ['a clientMsgId of 64 characters', 'i'.repeat(64), 'long id'],
        ['a clientMsgId of 16 bytes with NUL', new Uint8Array(16), 'zero bytes id'],
        ['the largest numeric clientMsgId', MAX, 'largest id'],
        ['a body of NUL only', 'nul body', '\u0000\u0000'],
        ['a body of bytes with NUL', 'bytes body', new Uint8Array([0, 0xff, 0, 0xfe])],
        ['a body of 2000 four-byte characters', 'emoji body', '\u{1F600}'.repeat(2000)]
      ]
      for (const [what, clientMsgId, body] of cases) {
        const first = await sent(DirectSend.encode({ clientMsgId, body }))
        expect(first.notice?.detail, what).toBeUndefined()
        // The same send again (a resend after a lost PUBACK): the same message, not a second one.
        const again = await sent(DirectSend.encode({ clientMsgId, body }))
        expect(again.ack?.cseq, `${what}: deduplicated`).toBe(first.ack?.cseq)
        const [stored] = (await broker.storage.messages.history('bob', 'mallory', first.ack!.cseq! + 1, 1)).items
        expect(comparable(stored?.message.body), what).toEqual(comparable(body))
        expect(comparable(stored?.message.clientMsgId), what).toEqual(comparable(clientMsgId))
      }
    })

    it('takes push tokens of the longest length, listed back unchanged, and refuses longer ones with PUSH_TOKEN_INVALID', async () => {
      const { mallory } = arena
      for (const [platform, token] of [[0, randomToken(2048)], [2, randomToken(2000)], [1, 'a'.repeat(2048)]] as Array<[number, string]>) {
        const response = await mallory.request(OP.registerPush, cbor(new Map<number, unknown>([[1, token], [2, platform]])))
        expect(response.code, `a token of ${token.length}: ${response.detail ?? ''}`).toBeUndefined()
        const listed = await mallory.request(OP.listPush)
        expect((listed.result as unknown[]).map((item) => PushTokenInfo.fromCbor(item).token)).toEqual([token])
      }
      await mallory.expectRequestRefused(OP.registerPush, cbor(new Map<number, unknown>([[1, randomToken(2049)], [2, 0]])), 'PUSH_TOKEN_INVALID', 'a token of 2049')
    })

    it('takes group names of the longest length in many-byte characters, and the most members', async () => {
      const { mallory } = arena
      const name = '\u{1F600}'.repeat(50)
      const created = await mallory.request(OP.createGroup, cbor(new Map<number, unknown>([[1, name], [2, ['carol', 'bob']]])))
      expect(created.code, created.detail).toBeUndefined()
      const info = GroupInfo.fromCbor(created.result)
      expect(info.name).toBe(name)
      const renamed = await mallory.request(OP.rename, cbor(new Map<number, unknown>([[1, info.id], [2, 'ℝ'.repeat(100)]])))
      expect(renamed.code, renamed.detail).toBeUndefined()
      expect(GroupInfo.fromCbor((await mallory.request(OP.groupInfo, cbor(new Map([[1, info.id]])))).result).name).toBe('ℝ'.repeat(100))
    })

    it('takes the largest numbers a watermark, a cursor, a history page and a key id may have', async () => {
      const { alice, mallory } = arena
      const inbox = mallory.inbox
      const notices = inbox.on('/e').length
      await mallory.client.publishAsync('c/d', Buffer.from(cbor(['alice', MAX])), { qos: 1 })
      await mallory.client.publishAsync('c/d', Buffer.from(cbor([arena.group, MAX, true])), { qos: 1 })
      const synced = inbox.on('/y').length
      await mallory.client.publishAsync('c/r', Buffer.from(rawMap([[1, cbor(MAX)]])), { qos: 1 })
      await inbox.wait('/y', synced + 1)
      for (const args of [[[1, 'alice'], [2, MAX], [3, 100]], [[1, arena.group], [2, MAX], [3, 100], [4, true]], [[1, 'nobody'], [2, MAX]]] as Array<Array<[number, unknown]>>) {
        const page = await mallory.request(OP.history, cbor(new Map(args)))
        expect(page.code, `history ${JSON.stringify(args)}: ${page.detail ?? ''}`).toBeUndefined()
      }
      const key = new Uint8Array(32).fill(7)
      // The most one-time prekeys one publish may carry, up to the largest id.
      const preKeys = Array.from({ length: MAX_PREKEYS_PER_PUBLISH }, (_, i): [number, Uint8Array] => [0xffffffff - i, key])
      const keys = PublishKeysArgs.toCbor({ identityKey: key, signedPreKeyId: 0xffffffff, signedPreKey: key, signature: new Uint8Array(64), preKeys })
      expect((await mallory.request(OP.publishKeys, cbor(keys))).code).toBeUndefined()
      const bundles = await request(alice, 'alice', OP.fetchBundles, new Map([[1, 'mallory']]))
      expect(bundles.code, bundles.detail).toBeUndefined()
      const [bundle] = FetchBundlesResult.fromCbor(bundles.result).bundles.map((item) => Bundle.fromCbor(item))
      // Lowest id first.
      expect([bundle?.signedPreKeyId, bundle?.preKeyId]).toEqual([0xffffffff, 0xffffffff - MAX_PREKEYS_PER_PUBLISH + 1])
      for (const presence of [2, 0]) expect((await mallory.request(OP.setPrivacy, cbor(new Map([[1, presence]])))).code).toBeUndefined()
      expect(inbox.on('/e').slice(notices).map((r) => ErrorNotice.decode(r.payload).detail)).toEqual([])
      expect(errorLines(arena.broker)).toEqual([])
    })

    it('serves users and devices whose ids are the longest the protocol allows', async () => {
      const { broker, mallory } = arena
      const user = 'u'.repeat(64)
      const device = await broker.device(user, 'd'.repeat(64))
      const inbox = new Inbox(device)
      const answer = await sent(DirectSend.encode({ clientMsgId: 'to the longest', body: 'hello' }), `s/${user}`)
      expect(answer.notice?.detail).toBeUndefined()
      await inbox.wait('inbox')
      expect((await mallory.request(OP.addContact, cbor(new Map([[1, user]])))).code).toBeUndefined()
      await device.endAsync()
    })

    it('takes the largest group of the longest ids, stores a message for every member, and refuses one member more with GROUP_FULL', async () => {
      const { broker, mallory } = arena
      // --max-group-size's default, 256 with the creator; ids of 64 characters.
      const members = Array.from({ length: 255 }, (_, i) => `${i}`.padStart(64, 'm'))
      for (const member of [...members, 'x'.repeat(64)]) await broker.storage.directory.registerUser(member)
      // In three requests: one would be past the arena's --max-payload.
      const created = await mallory.request(OP.createGroup, cbor(new Map<number, unknown>([[1, 'everyone'], [2, members.slice(0, 100)]])))
      expect(created.code, created.detail).toBeUndefined()
      const { id } = GroupInfo.fromCbor(created.result)
      for (const more of [members.slice(100, 200), members.slice(200)]) {
        const added = await mallory.request(OP.addMembers, cbor(new Map<number, unknown>([[1, id], [2, more]])))
        expect(added.code, added.detail).toBeUndefined()
      }
      const answer = await sent(SendRequest.encode({ clientMsgId: 'to all', group: id, body: 'hello, all' }), 'c/s')
      expect(answer.notice?.detail).toBeUndefined()
      expect(await broker.storage.messages.inboxHead(members.at(-1)!)).toBeGreaterThanOrEqual(2)
      await mallory.expectRequestRefused(OP.addMembers, cbor(new Map<number, unknown>([[1, id], [2, ['x'.repeat(64)]]])), 'GROUP_FULL', 'member 257')
    })
  })
})
