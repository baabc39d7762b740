import { describe, expect, it } from 'vitest'
import type { ErrorName } from '../../protocol/errors.js'
import { GroupInfo, OP } from '../../protocol/requests.js'
import { request } from '../helpers/chat.js'
import { cbor, hex, HOSTILE_IDS, HOSTILE_VALUES, rawArray, rawMap, rawText, tagged, type Raw } from '../helpers/adversary.js'
import { onEveryStore, useArena } from '../helpers/arena.js'

/*
 * Adversarial probes (see adversarial.test.ts for the whole set), this file: requests on c/q — the
 * Request envelope, unknown ops, every op's args with wrong types and shapes, other users' groups,
 * requests before or after the state they need, group names.
 */

onEveryStore('adversarial input: requests', (store, flags) => {
  describe(`adversarial input: requests on ${store}`, () => {
    const arena = useArena(flags)

    it('answers hostile requests (c/q) with a coded Response: the envelope, unknown ops, and every op\'s args', async () => {
      const { mallory } = arena
      // The Request envelope itself: no rid to answer under, so the refusal is an ErrorNotice.
      for (const [what, rid] of HOSTILE_VALUES.filter(([w]) => w !== 'undefined')) {
        await mallory.expectRefused({ topic: 'c/q', payload: rawMap([[1, rid], [2, cbor(OP.listGroups)]]) }, 'BAD_ENVELOPE', `rid ${what}`)
      }
      await mallory.expectRefused({ topic: 'c/q', payload: rawMap([[2, cbor(OP.listGroups)]]) }, 'BAD_ENVELOPE', 'no rid')
      await mallory.expectRefused({ topic: 'c/q', payload: rawMap([[1, cbor(1)]]) }, 'BAD_ENVELOPE', 'no op')
      for (const [what, op] of HOSTILE_VALUES.filter(([w]) => w !== 'undefined')) {
        await mallory.expectRefused({ topic: 'c/q', payload: rawMap([[1, cbor(9)], [2, op]]) }, 'BAD_ENVELOPE', `op ${what}`)
      }
      for (const op of [0, 5, 9, 19, 23, 29, 34, 39, 42, 49, 99, 255, 2 ** 32]) await mallory.expectRequestRefused(op, undefined, 'UNKNOWN_COMMAND', `op ${op}`)
      // Every op with args that are not a map, or a map of the wrong things.
      const ops = Object.entries(OP).filter(([name]) => !['listGroups', 'unregisterPush', 'listPush'].includes(name))
      for (const [name, op] of ops) {
        const expected: ErrorName = name.startsWith('media') ? 'MEDIA_NOT_CONFIGURED' : 'BAD_ENVELOPE'
        for (const [what, args] of [['no args', undefined], ['args 7', cbor(7)], ['args text', cbor('x')], ['args an array', cbor([1, 2])], ['an empty map', rawMap([])],
          ['args a cycle', tagged(28, rawArray([tagged(29, cbor(0))]))], ...HOSTILE_VALUES.map(([w, v]) => [`every field ${w}`, rawMap([[1, v], [2, v], [3, v], [4, v], [5, v]])])] as Array<[string, Raw | undefined]>) {
          // Without object storage a media op refuses before it reads its args.
          if (expected === 'MEDIA_NOT_CONFIGURED' && what.startsWith('every field')) continue
          // A cycle nests past the depth limit inside args: refused before any op looks at it.
          await mallory.expectRequestRefused(op, args, what === 'every field shared-reference cycle' ? 'BAD_ENVELOPE' : expected, `${name} with ${what}`)
        }
        for (const [what, id, code] of HOSTILE_IDS) {
          if (expected !== 'BAD_ENVELOPE') continue
          await mallory.expectRequestRefused(op, rawMap([[1, id], [2, id], [3, id], [4, id], [5, id]]), code, `${name} with ids ${what}`)
        }
      }
    })

    it('refuses requests on what is not the requester\'s, and requests before or after the state they need', async () => {
      const { alice, mallory, group } = arena
      const args = (...fields: unknown[]): Raw => cbor(new Map(fields.map((value, i) => [i + 1, value])))
      const others = GroupInfo.fromCbor((await request(alice, 'alice', OP.createGroup, new Map<number, unknown>([[1, 'theirs'], [2, ['bob']]]))).result).id
      const cases: Array<[string, number, Raw, ErrorName]> = [
        ['history of a group of others', OP.history, cbor(new Map<number, unknown>([[1, others], [4, true]])), 'NOT_MEMBER'],
        ['history of an unknown group', OP.history, cbor(new Map<number, unknown>([[1, 'gnone'], [4, true]])), 'UNKNOWN_GROUP'],
        ['history with limit 0', OP.history, args('alice', 0, 0), 'BAD_ENVELOPE'],
        ['history with limit 101', OP.history, args('alice', 0, 101), 'BAD_ENVELOPE'],
        ['privacy 3', OP.setPrivacy, args(3), 'BAD_ENVELOPE'],
        ['a contact who does not exist', OP.addContact, args('nobody'), 'UNKNOWN_RECIPIENT'],
        ['a group with an unknown member', OP.createGroup, args('g', ['bob', 'nobody']), 'UNKNOWN_RECIPIENT'],
        ['a group of 1025 members', OP.createGroup, args('g', Array.from({ length: 1025 }, (_, i) => `u${i}`)), 'BAD_ENVELOPE'],
        ['a group name of spaces', OP.createGroup, args('   '), 'BAD_ENVELOPE'],
        ['a group name of 101 characters', OP.createGroup, args('n'.repeat(101)), 'BAD_ENVELOPE'],
        
        
        
        ['adding to a group of others', OP.addMembers, args(others, ['carol']), 'NOT_MEMBER'],
        ['adding as a plain member', OP.addMembers, args(group, ['carol']), 'NOT_ADMIN'],
        ['adding to an unknown group', OP.addMembers, args('gnone', ['carol']), 'UNKNOWN_GROUP'],
        ['removing as a plain member', OP.removeMember, args(group, 'alice'), 'NOT_ADMIN'],
        ['promoting oneself as a plain member', OP.promote, args(group, 'mallory'), 'NOT_ADMIN'],
        ['demoting the admin as a plain member', OP.demote, args(group, 'alice'), 'NOT_ADMIN'],
        ['renaming a group of others', OP.rename, args(others, 'mine'), 'NOT_MEMBER'],
        ['the info of a group of others', OP.groupInfo, args(others), 'NOT_MEMBER'],
        ['leaving a group of others', OP.leave, args(others), 'NOT_MEMBER'],
        ['a push token with a space', OP.registerPush, args('a b', 0), 'PUSH_TOKEN_INVALID'],
        ['a push token of 2049 characters', OP.registerPush, args('t'.repeat(2049), 0), 'PUSH_TOKEN_INVALID'],
        ['an empty push token', OP.registerPush, args('', 0), 'PUSH_TOKEN_INVALID'],
        ['push platform 3', OP.registerPush, args('token', 3), 'BAD_ENVELOPE'],
        ['keys of the wrong sizes', OP.publishKeys, args(Buffer.alloc(31), 1, Buffer.alloc(32), Buffer.alloc(64)), 'BAD_ENVELOPE'],
        ['201 one-time prekeys', OP.publishKeys, args(Buffer.alloc(32), 1, Buffer.alloc(32), Buffer.alloc(64), Array.from({ length: 201 }, (_, i) => [i + 1, Buffer.alloc(32)])), 'BAD_ENVELOPE'],
        ['a prekey id twice', OP.publishKeys, args(Buffer.alloc(32), 1, Buffer.alloc(32), Buffer.alloc(64), [[1, Buffer.alloc(32)], [1, Buffer.alloc(32, 1)]]), 'BAD_KEYS'],
        ['a prekey id 0', OP.publishKeys, args(Buffer.alloc(32), 1, Buffer.alloc(32), Buffer.alloc(64), [[0, Buffer.alloc(32)]]), 'BAD_ENVELOPE'],
        ['bundles of an unknown user', OP.fetchBundles, args('nobody'), 'UNKNOWN_RECIPIENT'],
        ['bundles of a user without keys', OP.fetchBundles, args('carol'), 'NO_KEYS'],
        ['bundles except 65 devices', OP.fetchBundles, args('carol', Array.from({ length: 65 }, (_, i) => `d${i}`)), 'BAD_ENVELOPE']
      ]
      for (const [what, op, raw, expected] of cases) await mallory.expectRequestRefused(op, raw, expected, what)
      // Leave twice: the second time there is nothing to leave.
      const mine = GroupInfo.fromCbor((await request(mallory.client, 'mallory', OP.createGroup, new Map<number, unknown>([[1, 'leave twice'], [2, ['carol']]]))).result).id
      expect((await mallory.request(OP.leave, args(mine))).code).toBeUndefined()
      await mallory.expectRequestRefused(OP.leave, args(mine), 'NOT_MEMBER', 'leaving twice')
    })

    it('keeps a group administrable: an admin who removes itself hands admin on, as leaving does', async () => {
      const { broker, mallory } = arena
      const args = (...fields: unknown[]): Raw => cbor(new Map(fields.map((value, i) => [i + 1, value])))
      const id = GroupInfo.fromCbor((await request(mallory.client, 'mallory', OP.createGroup, new Map<number, unknown>([[1, 'self-removal'], [2, ['carol']]]))).result).id
      expect((await mallory.request(OP.removeMember, args(id, 'mallory'))).code).toBeUndefined()
      const after = await broker.storage.directory.group(id)
      expect(after?.members).toEqual(['carol'])
      expect(after?.admins).toEqual(['carol'])
    })

    it('refuses group names with control characters or invalid text, and keeps right-to-left and emoji names as given', async () => {
      const { mallory, group } = arena
      const args = (...fields: unknown[]): Raw => cbor(new Map(fields.map((value, i) => [i + 1, value])))
      for (const [what, name] of [['NUL', cbor('a\u0000b')], ['a bell', cbor('a\u0007b')], ['a newline', cbor('line\nbreak')], ['DEL', cbor('a\u007fb')], ['a C1 control', cbor('a\u0085b')],
        ['a lone surrogate (CESU-8)', rawText(hex('61 eda080'))], ['invalid UTF-8', rawText(hex('61 c328'))]] as Array<[string, Raw]>) {
        await mallory.expectRequestRefused(OP.createGroup, rawMap([[1, name]]), what.includes('UTF-8') || what.includes('surrogate') ? 'BAD_ENCODING' : 'BAD_ENVELOPE', `a group name with ${what}`)
        await mallory.expectRequestRefused(OP.rename, rawMap([[1, cbor(group)], [2, name]]), what.includes('UTF-8') || what.includes('surrogate') ? 'BAD_ENCODING' : 'BAD_ENVELOPE', `a rename to ${what}`)
      }
      for (const name of ['\u202eevil\u202c', 'עברית', '👨‍👩‍👧 family', 'n'.repeat(100)]) {
        const response = await mallory.request(OP.createGroup, args(name))
        expect(response.code, name).toBeUndefined()
        expect(GroupInfo.fromCbor(response.result).name).toBe(name)
      }
    })
  })
})
