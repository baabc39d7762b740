import { describe, expect, it } from 'vitest'
import { conversationOf, groupConversationOf, type NewDirectMessage, type Storage } from '../../storage/contracts.js'

/**
 * The one contract every message-store adapter passes (invariant 8). An adapter's test file calls
 * this with a factory that opens a fresh, empty store, and one that reopens the same store.
 */
export function messageStoreContract (name: string, open: () => Promise<{ storage: Storage, reopen: () => Promise<Storage> }>): void {
  const draft = (over: Partial<NewDirectMessage> = {}): NewDirectMessage => ({
    from: 'alice', fromDevice: 'phone', to: 'bob', body: 'hi', kind: 0, ts: 1_700_000_000, clientMsgId: 'c1', ...over
  })

  describe(`message store contract: ${name}`, () => {
    it('appends to both inboxes with per-user sequences starting at 1', async () => {
      const { storage } = await open()
      const first = await storage.messages.appendDirect(draft())
      const second = await storage.messages.appendDirect(draft({ from: 'bob', fromDevice: 'pc', to: 'alice', clientMsgId: 'x' }))
      expect([first.message.cseq, second.message.cseq]).toEqual([1, 2])
      expect(first).toMatchObject({ senderSeq: 1, recipientSeq: 1, duplicate: false })
      expect(second).toMatchObject({ senderSeq: 2, recipientSeq: 2, duplicate: false })
      expect(first.message.id).not.toBe(second.message.id)
      expect((await storage.messages.readInbox('alice', 0, 10)).map((e) => [e.seq, e.message?.id])).toEqual([[1, first.message.id], [2, second.message.id]])
      expect(await storage.messages.inboxHead('bob')).toBe(2)
      expect(await storage.messages.inboxHead('nobody')).toBe(0)
      await storage.close()
    })

    it('deduplicates by sender device and client message id, including concurrent resends', async () => {
      const { storage } = await open()
      const bytes = new Uint8Array([9, 8, 7, 6, 5, 4, 3, 2])
      const [a, b] = await Promise.all([storage.messages.appendDirect(draft({ clientMsgId: bytes })), storage.messages.appendDirect(draft({ clientMsgId: bytes }))])
      const c = await storage.messages.appendDirect(draft({ clientMsgId: bytes }))
      expect([a.duplicate, b.duplicate, c.duplicate].filter((d) => !d)).toHaveLength(1)
      expect(new Set([a.message.id, b.message.id, c.message.id]).size).toBe(1)
      // The same client id from another device, or of another type, is another message.
      const other = await storage.messages.appendDirect(draft({ clientMsgId: bytes, fromDevice: 'laptop' }))
      const asString = await storage.messages.appendDirect(draft({ clientMsgId: '0908070605040302' }))
      expect(other.duplicate || asString.duplicate).toBe(false)
      expect(await storage.messages.inboxHead('bob')).toBe(3)
      await storage.close()
    })

    it('never gives two messages the same seq under concurrency', async () => {
      const { storage } = await open()
      const results = await Promise.all(Array.from({ length: 200 }, (_, i) =>
        storage.messages.appendDirect(draft({ from: `u${i % 7}`, clientMsgId: i }))))
      expect(results.map((r) => r.recipientSeq).sort((x, y) => x - y)).toEqual(Array.from({ length: 200 }, (_, i) => i + 1))
      const inbox = await storage.messages.readInbox('bob', 0, 500)
      expect(inbox.map((e) => e.seq)).toEqual(Array.from({ length: 200 }, (_, i) => i + 1))
      await storage.close()
    })

    it('pages an inbox after a cursor, oldest first', async () => {
      const { storage } = await open()
      for (let i = 0; i < 25; i++) await storage.messages.appendDirect(draft({ clientMsgId: i, body: `m${i}` }))
      const page = await storage.messages.readInbox('bob', 10, 5)
      expect(page.map((e) => e.seq)).toEqual([11, 12, 13, 14, 15])
      expect(page.map((e) => e.message?.body)).toEqual(['m10', 'm11', 'm12', 'm13', 'm14'])
      expect(await storage.messages.readInbox('bob', 25, 5)).toEqual([])
      await storage.close()
    })

    it('keeps bodies byte-exact and every stamped field', async () => {
      const { storage } = await open()
      const body = new Uint8Array([0, 255, 1, 254])
      const { message } = await storage.messages.appendDirect(draft({ body, kind: 1, clientMsgId: new Uint8Array([1]) }))
      const [entry] = await storage.messages.readInbox('bob', 0, 1)
      expect(entry!.message).toMatchObject({ id: message.id, from: 'alice', fromDevice: 'phone', to: 'bob', kind: 1, ts: 1_700_000_000 })
      expect(new Uint8Array(entry!.message!.body as Uint8Array)).toEqual(body)
      await storage.close()
    })

    it('stores a group message once, in every member\'s inbox, in one order for all', async () => {
      const { storage } = await open()
      const members = ['alice', 'bob', 'carol']
      await storage.messages.appendDirect(draft({ to: 'carol', clientMsgId: 'pre' })) // carol's inbox is ahead
      const results = await Promise.all(members.map((from, i) => storage.messages.appendGroup({ ...draft({ from, to: 'g1', clientMsgId: `g${i}` }) }, members)))
      expect(results.map((r) => r.message.cseq).sort()).toEqual([1, 2, 3])
      for (const member of members) {
        const inbox = (await storage.messages.readInbox(member, 0, 10)).filter((e) => e.message?.group === true)
        // Each member sees the three in the same (cseq) order, at its own inbox seqs.
        expect(inbox.map((e) => e.message!.cseq)).toEqual([1, 2, 3])
      }
      expect(results[0]!.seqs).toHaveProperty('carol')
      const resend = await storage.messages.appendGroup(draft({ from: 'alice', to: 'g1', clientMsgId: 'g0' }), members)
      expect(resend.duplicate).toBe(true)
      expect(await storage.messages.inboxHead('bob')).toBe(3)
      await storage.close()
    })

    it('records deliveries in memory and writes one "delivered up to" receipt per flush', async () => {
      const { storage } = await open()
      const sent = []
      for (let i = 0; i < 3; i++) sent.push(await storage.messages.appendDirect(draft({ clientMsgId: `w${i}` })))
      const conversation = conversationOf('alice', 'bob')
      for (const s of sent) expect(await storage.messages.markDelivered('bob', s.recipientSeq)).toBe(conversation)
      // A second device acknowledging, a seq holding nothing, and the sender's own copy move nothing.
      expect(await storage.messages.markDelivered('bob', sent[0]!.recipientSeq)).toBeUndefined()
      expect(await storage.messages.markDelivered('bob', 99)).toBeUndefined()
      expect(await storage.messages.markDelivered('alice', sent[2]!.senderSeq)).toBeUndefined()
      expect((await storage.messages.history('alice', 'bob', 0, 10)).items.map((i) => i.status)).toEqual([1, 1, 1])
      const receipts = await storage.messages.flushDelivered(conversation, 1_700_000_005)
      expect(receipts).toEqual([{ owner: 'alice', seq: 4, receipt: { peer: 'bob', status: 1, cseq: 3, ts: 1_700_000_005 } }])
      expect(await storage.messages.flushDelivered(conversation, 1_700_000_006)).toEqual([])
      expect((await storage.messages.readInbox('alice', 3, 10)).map((e) => e.receipt)).toEqual([receipts[0]!.receipt])
      await storage.close()
    })

    it('never claims a delivery that did not happen: an acknowledgement waits for an earlier message', async () => {
      const { storage } = await open()
      const m1 = await storage.messages.appendDirect(draft({ clientMsgId: 'a1' }))
      const m2 = await storage.messages.appendDirect(draft({ from: 'bob', fromDevice: 'pc', to: 'alice', clientMsgId: 'b2' }))
      const m3 = await storage.messages.appendDirect(draft({ clientMsgId: 'a3' }))
      await storage.messages.appendDirect(draft({ clientMsgId: 'a4' }))
      const conversation = conversationOf('alice', 'bob')
      expect(await storage.messages.markDelivered('bob', m3.recipientSeq)).toBeUndefined()
      expect(await storage.messages.flushDelivered(conversation, 1)).toEqual([])
      const mine = async (): Promise<number[]> => (await storage.messages.history('alice', 'bob', 0, 10)).items.filter((i) => i.message.from === 'alice').map((i) => i.status)
      expect(await mine()).toEqual([0, 0, 0])
      // The first one arrives: the watermark passes bob's own message and takes in the waiting one.
      expect(await storage.messages.markDelivered('bob', m1.recipientSeq)).toBe(conversation)
      expect(await mine()).toEqual([1, 1, 0])
      expect(await storage.messages.markDelivered('alice', m2.recipientSeq)).toBe(conversation)
      const receipts = await storage.messages.flushDelivered(conversation, 2)
      expect(receipts.map((e) => [e.owner, e.receipt.peer, e.receipt.status, e.receipt.cseq]).sort()).toEqual([['alice', 'bob', 1, 3], ['bob', 'alice', 1, 2]])
      await storage.close()
    })

    it('moves statuses forward only: reading proves delivery, and no delivered receipt follows a read one', async () => {
      const { storage } = await open()
      const m1 = await storage.messages.appendDirect(draft({ clientMsgId: 'r1' }))
      const m2 = await storage.messages.appendDirect(draft({ clientMsgId: 'r2' }))
      const conversation = conversationOf('alice', 'bob')
      expect(await storage.messages.markDelivered('bob', m2.recipientSeq)).toBeUndefined() // waits for m1
      // bob reads m1 on a device that acknowledged nothing (history, or a clean session): he has it.
      expect((await storage.messages.markRead('bob', 'alice', 1, 3)).map((e) => [e.owner, e.receipt.status])).toEqual([['alice', 2], ['bob', 3]])
      expect((await storage.messages.flushDelivered(conversation, 4)).map((e) => e.receipt)).toEqual([{ peer: 'bob', status: 1, cseq: 2, ts: 4 }])
      expect(await storage.messages.markDelivered('bob', m1.recipientSeq)).toBeUndefined()
      const m3 = await storage.messages.appendDirect(draft({ clientMsgId: 'r3' }))
      await storage.messages.markRead('bob', 'alice', 3, 5)
      expect(await storage.messages.markDelivered('bob', m3.recipientSeq)).toBeUndefined()
      expect(await storage.messages.flushDelivered(conversation, 6)).toEqual([])
      expect((await storage.messages.history('alice', 'bob', 0, 10)).items.map((i) => i.status)).toEqual([2, 2, 2])
      await storage.close()
    })

    it('keeps what was flushed across a reopen, and close() writes what was not', async () => {
      const { storage, reopen } = await open()
      const m1 = await storage.messages.appendDirect(draft({ clientMsgId: 'k1' }))
      const m2 = await storage.messages.appendDirect(draft({ clientMsgId: 'k2' }))
      await storage.messages.markDelivered('bob', m1.recipientSeq)
      await storage.messages.flushDelivered(conversationOf('alice', 'bob'), 1)
      await storage.messages.markDelivered('bob', m2.recipientSeq)
      await storage.close()
      const again = await reopen()
      expect((await again.messages.history('alice', 'bob', 0, 10)).items.map((i) => i.status)).toEqual([1, 1])
      expect((await again.messages.readInbox('alice', 2, 10)).map((e) => e.receipt?.cseq)).toEqual([1, 2])
      expect(await again.messages.markDelivered('bob', m2.recipientSeq)).toBeUndefined()
      await again.close()
    })

    it('aggregates group receipts: one delivered and one read per transition, when all members have it', async () => {
      const { storage } = await open()
      const members = ['alice', 'bob', 'carol']
      const conversation = groupConversationOf('g1')
      const sent = await storage.messages.appendGroup(draft({ from: 'alice', to: 'g1', clientMsgId: 'x' }), members)
      const seqOf = (member: string): number => sent.seqs[member]!
      expect(await storage.messages.markDelivered('bob', seqOf('bob'))).toBe(conversation)
      expect(await storage.messages.flushDelivered(conversation, 1)).toEqual([]) // carol has not got it
      expect(await storage.messages.markDelivered('bob', seqOf('bob'))).toBeUndefined()
      expect(await storage.messages.markDelivered('dave', 1)).toBeUndefined() // not a member: nothing at that seq
      expect(await storage.messages.markDelivered('carol', seqOf('carol') + 1)).toBeUndefined() // nothing there yet
      expect((await storage.messages.history('alice', 'g1', 0, 10, true)).items.map((i) => i.status)).toEqual([0])
      expect(await storage.messages.markDelivered('carol', seqOf('carol'))).toBe(conversation)
      const delivered = await storage.messages.flushDelivered(conversation, 2)
      expect(delivered.map((e) => [e.owner, e.receipt.status, e.receipt.peer, e.receipt.group, e.receipt.cseq])).toEqual([['alice', 1, 'g1', true, 1]])
      const second = await storage.messages.appendGroup(draft({ from: 'bob', to: 'g1', clientMsgId: 'y' }), members)
      // bob read everything: only his own read-by-me entry, nobody's messages are read by all yet.
      expect((await storage.messages.markRead('bob', 'g1', 2, 3, true)).map((e) => [e.owner, e.receipt.status])).toEqual([['bob', 3]])
      // carol reads up to 1: alice's message is read by all (bob, carol); bob's needs alice and carol.
      expect((await storage.messages.markRead('carol', 'g1', 1, 4, true)).map((e) => [e.owner, e.receipt.status, e.receipt.cseq])).toEqual([['alice', 2, 1], ['carol', 3, 1]])
      expect(await storage.messages.markRead('carol', 'g1', 1, 5, true)).toEqual([])
      // alice acknowledges bob's message; carol's reading then completes its delivery, and its read.
      expect(await storage.messages.markDelivered('alice', second.seqs.alice!)).toBe(conversation)
      expect(await storage.messages.flushDelivered(conversation, 5)).toEqual([])
      await storage.messages.markRead('alice', 'g1', 2, 6, true)
      const last = await storage.messages.markRead('carol', 'g1', 2, 7, true)
      expect(last.map((e) => [e.owner, e.receipt.status, e.receipt.cseq])).toEqual([['bob', 2, second.message.cseq], ['carol', 3, 2]])
      // Delivered to all, but the read receipt already said more: statuses only move forward.
      expect(await storage.messages.flushDelivered(conversation, 8)).toEqual([])
      const page = await storage.messages.history('alice', 'g1', 0, 10, true)
      expect(page.items.map((i) => i.status)).toEqual([2, 2])
      expect((await storage.messages.history('bob', 'g1', 0, 10, true)).items.map((i) => i.status)).toEqual([2, 2])
      await storage.close()
    })

    it('keeps everything across a reopen, and continues the sequences', async () => {
      const { storage, reopen } = await open()
      await storage.messages.appendDirect(draft())
      await storage.directory.registerUser('alice')
      await storage.close()
      const again = await reopen()
      expect(await again.directory.hasUser('alice')).toBe(true)
      expect(await again.directory.hasUser('zed')).toBe(false)
      expect((await again.messages.appendDirect(draft({ clientMsgId: 'c2' }))).recipientSeq).toBe(2)
      expect((await again.messages.appendDirect(draft())).duplicate).toBe(true)
      await again.close()
    })

    it('keeps each device\'s delivery cursor, forward only, and writes it by close()', async () => {
      const { storage, reopen } = await open()
      expect(await storage.messages.deviceCursor('bob', 'phone')).toBeUndefined()
      storage.messages.advanceDeviceCursor('bob', 'phone', 3)
      storage.messages.advanceDeviceCursor('bob', 'phone', 2)
      storage.messages.advanceDeviceCursor('bob', 'tablet', 1)
      expect(await storage.messages.deviceCursor('bob', 'phone')).toBe(3)
      expect(await storage.messages.deviceCursor('bob', 'tablet')).toBe(1)
      expect(await storage.messages.deviceCursor('alice', 'phone')).toBeUndefined()
      await storage.close()
      const again = await reopen()
      expect(await again.messages.deviceCursor('bob', 'phone')).toBe(3)
      again.messages.advanceDeviceCursor('bob', 'phone', 1)
      expect(await again.messages.deviceCursor('bob', 'phone')).toBe(3)
      await again.close()
    })
  })
}
