import { describe, expect, it } from 'vitest'
import { KIND } from '../../protocol/envelopes.js'
import { ERROR_CODES } from '../../protocol/errors.js'
import { conversationOf } from '../../storage/contracts.js'
import { openPostgresStorage } from '../../storage/postgres/index.js'
import { draft, withTestPostgres } from '../helpers/postgres-databases.js'
import { messageStoreContract } from './message-store.contract.js'

withTestPostgres('postgres message store', (databases) => {
  messageStoreContract('PostgreSQL', async () => {
    const url = await databases.create()
    return { storage: await openPostgresStorage(url), reopen: () => openPostgresStorage(url) }
  })

  describe('postgres message store: several brokers on one database', () => {
    it('never hands out one number twice when two brokers append at once, and deduplicates across them', async () => {
      const url = await databases.create()
      const [a, b] = await Promise.all([openPostgresStorage(url), openPostgresStorage(url)])
      try {
        const sends = Array.from({ length: 60 }, (_, i) => (i % 2 === 0 ? a : b).messages.appendDirect(draft({ from: `u${i % 5}`, clientMsgId: i })))
        const resends = [a, b].map((node) => node.messages.appendDirect(draft({ from: 'u0', clientMsgId: 0 })))
        const results = await Promise.all([...sends, ...resends])
        const fresh = results.filter((r) => !r.duplicate)
        expect(fresh.map((r) => r.recipientSeq).sort((x, y) => x - y)).toEqual(Array.from({ length: 60 }, (_, i) => i + 1))
        expect(results.slice(60).every((r) => r.message.id === results[0]!.message.id)).toBe(true)
        expect(await b.messages.inboxHead('bob')).toBe(60)
      } finally {
        await Promise.all([a.close(), b.close()])
      }
    })

    it('checks group membership inside the append: a stale member list cannot reach a removed member', async () => {
      const url = await databases.create()
      const [a, b] = await Promise.all([openPostgresStorage(url), openPostgresStorage(url)])
      try {
        const group = { id: 'g1', name: 'g', createdBy: 'alice', created: 1, admins: ['alice'], members: ['alice', 'bob', 'carol'] }
        await a.directory.createGroup(group)
        const stale = group.members
        // Broker b removes carol; broker a still holds the old member list.
        await b.directory.saveGroup({ ...group, members: ['alice', 'bob'] })
        const sent = await a.messages.appendGroup(draft({ to: 'g1', clientMsgId: 'after' }), stale)
        expect(Object.keys(sent.seqs).sort()).toEqual(['alice', 'bob'])
        expect(await a.messages.inboxHead('carol')).toBe(0)
        await expect(a.messages.appendGroup(draft({ from: 'carol', to: 'g1', clientMsgId: 'x' }), stale)).rejects.toMatchObject({ code: ERROR_CODES.NOT_MEMBER.code })
        // A system message goes to whom its caller names: the removal reaches the removed member.
        const notice = await b.messages.appendGroup(draft({ to: 'g1', kind: KIND.system, clientMsgId: 'removed' }), stale)
        expect(Object.keys(notice.seqs).sort()).toEqual(['alice', 'bob', 'carol'])
      } finally {
        await Promise.all([a.close(), b.close()])
      }
    })

    it('tells a sender "delivered" once when the recipient acknowledged on both brokers', async () => {
      const url = await databases.create()
      const [a, b] = await Promise.all([openPostgresStorage(url), openPostgresStorage(url)])
      try {
        const sent = await a.messages.appendDirect(draft())
        const conversation = conversationOf('alice', 'bob')
        expect(await a.messages.markDelivered('bob', sent.recipientSeq)).toBe(conversation)
        expect(await b.messages.markDelivered('bob', sent.recipientSeq)).toBe(conversation)
        const receipts = [...await a.messages.flushDelivered(conversation, 2), ...await b.messages.flushDelivered(conversation, 3)]
        expect(receipts.map((e) => [e.owner, e.receipt.cseq])).toEqual([['alice', 1]])
      } finally {
        await Promise.all([a.close(), b.close()])
      }
    })
  })
})
