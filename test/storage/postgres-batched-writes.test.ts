import pg from 'pg'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { ERROR_CODES } from '../../protocol/errors.js'
import { conversationOf, type AppendResult } from '../../storage/contracts.js'
import { openPostgresStorage } from '../../storage/postgres/index.js'
import { RetriableError } from '../../storage/retriable.js'
import { draft, withTestPostgres } from '../helpers/postgres-databases.js'

/** The statements naming `fn` the broker sends PostgreSQL while `work` runs (one per call, batched or not). */
async function statementsOf<T> (fn: string, work: () => Promise<T>): Promise<{ result: T, statements: number }> {
  const query = vi.spyOn(pg.Client.prototype, 'query')
  try {
    const result = await work()
    const statements = query.mock.calls.filter(([sql]) => typeof sql === 'string' && sql.includes(fn)).length
    return { result, statements }
  } finally {
    query.mockRestore()
  }
}

withTestPostgres('postgres batched writes', (databases) => {
  afterEach(() => { vi.restoreAllMocks() })

  describe('postgres batched writes: a group-committed transaction\'s appends, and its delivered flushes, in one statement each', () => {
    it('numbers a batch spanning conversations and a group in call order, and answers a resend in it as its duplicate', async () => {
      const storage = await openPostgresStorage(await databases.create())
      try {
        const { messages } = storage
        await storage.directory.createGroup({ id: 'g1', name: 'g', createdBy: 'alice', created: 1, admins: ['alice'], members: ['alice', 'bob', 'carol'] })
        const first = await messages.appendDirect(draft({ clientMsgId: 'first', body: 'one' }))
        const members = ['alice', 'bob', 'carol']
        // Sent in one turn, so the committer puts them all in one transaction.
        const { result, statements } = await statementsOf('lowband_append', () => Promise.all([
          messages.appendDirect(draft({ clientMsgId: 'second', body: 'two' })),
          messages.appendDirect(draft({ from: 'carol', to: 'dave', clientMsgId: 'x' })),
          messages.appendGroup(draft({ to: 'g1', clientMsgId: 'g-first' }), members),
          messages.appendDirect(draft({ clientMsgId: 'first', body: 'one' })),
          messages.appendDirect(draft({ clientMsgId: 'third', body: 'three' })),
          messages.appendGroup(draft({ from: 'bob', fromDevice: 'tablet', to: 'g1', clientMsgId: 'g-second' }), members)
        ]))
        const [second, carol, groupFirst, resend, third, groupSecond] = result as [AppendResult, AppendResult, Awaited<ReturnType<typeof messages.appendGroup>>, AppendResult, AppendResult, Awaited<ReturnType<typeof messages.appendGroup>>]
        expect(statements).toBe(1)
        // One conversation's numbers follow the order of the calls across the batch.
        expect([first, second, third].map((r) => r.message.cseq)).toEqual([1, 2, 3])
        expect([groupFirst, groupSecond].map((r) => r.message.cseq)).toEqual([1, 2])
        expect(carol.message.cseq).toBe(1)
        // The resend gets the stored message and its numbers, and takes none of its own.
        expect(resend).toMatchObject({ duplicate: true, senderSeq: first.senderSeq, recipientSeq: first.recipientSeq })
        expect(resend.message).toEqual(first.message)
        expect(second.duplicate || third.duplicate || groupFirst.duplicate).toBe(false)
        // Every inbox is gap-free, in call order: alice holds first, second, g-first, third, g-second.
        const alice = await messages.readInbox('alice', 0, 10)
        expect(alice.map((e) => [e.seq, e.message?.clientMsgId])).toEqual([[1, 'first'], [2, 'second'], [3, 'g-first'], [4, 'third'], [5, 'g-second']])
        expect(groupSecond.seqs).toEqual({ alice: 5, bob: 5, carol: 3 })
        expect(await messages.inboxHead('dave')).toBe(1)
        expect(await messages.inboxHead('carol')).toBe(3)
      } finally {
        await storage.close()
      }
    })

    it('answers a second append with one dedup key in one call as the first one\'s duplicate', async () => {
      const url = await databases.create()
      const storage = await openPostgresStorage(url)
      const pool = new pg.Pool({ connectionString: url })
      try {
        // Two appends under one dedup key, column by column as messages.ts sends them.
        const cbor = Buffer.from([0x61, 0x61])
        const { rows } = await pool.query<{ status: string, message_id: string, cseq: string, seqs: string[] }>(
          'SELECT * FROM lowband_append_batch($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)',
          [['m1', 'm2'], Array(2).fill(conversationOf('alice', 'bob')), ['dedup-1', 'dedup-1'], ['alice', 'alice'], ['phone', 'phone'],
            ['bob', 'bob'], [false, false], [false, false], [0, 0], [1, 1], [cbor, cbor], [cbor, cbor], [2, 2], ['alice', 'bob', 'alice', 'bob']])
        expect(rows.map((r) => [r.status, r.message_id, Number(r.cseq), r.seqs.map(Number)])).toEqual([['stored', 'm1', 1, [1, 1]], ['duplicate', 'm1', 1, [1, 1]]])
        expect(await storage.messages.inboxHead('bob')).toBe(1)
      } finally {
        await pool.end()
        await storage.close()
      }
    })

    it('fails only the bad append of a batch: the others are stored, numbered without a gap', async () => {
      const storage = await openPostgresStorage(await databases.create())
      try {
        const { messages } = storage
        const { result, statements } = await statementsOf('lowband_append', () => Promise.allSettled([
          messages.appendDirect(draft({ clientMsgId: 'a' })),
          // kind is a smallint column: this one makes the shared statement fail.
          messages.appendDirect(draft({ clientMsgId: 'bad', kind: 70_000 })),
          messages.appendDirect(draft({ clientMsgId: 'b' })),
          messages.appendDirect(draft({ from: 'carol', to: 'dave', clientMsgId: 'c' }))
        ]))
        const [a, bad, b, c] = result
        // Out of range for its column (22003): the same append would fail again, so it is refused for good.
        expect(bad.status === 'rejected' && !(bad.reason instanceof RetriableError) && (bad.reason as { code?: number }).code === ERROR_CODES.STORE_REFUSED.code).toBe(true)
        const stored = [a, b, c].map((r) => r.status === 'fulfilled' ? r.value : undefined)
        expect(stored.map((r) => r?.message.cseq)).toEqual([1, 2, 1])
        expect(stored.map((r) => r?.recipientSeq)).toEqual([1, 2, 1])
        expect(await messages.inboxHead('bob')).toBe(2)
        // The shared statement, then each append alone.
        expect(statements).toBe(5)
      } finally {
        await storage.close()
      }
    })

    it('writes the 1:1 delivered flushes of a transaction in one statement, each flush getting its own receipts', async () => {
      const storage = await openPostgresStorage(await databases.create())
      try {
        const { messages } = storage
        const sends = [draft({ from: 'carol', to: 'bob' }), draft(), draft({ from: 'dave', to: 'erin' })]
        const stored: AppendResult[] = []
        for (const d of sends) stored.push(await messages.appendDirect(d))
        for (const s of stored) await messages.markDelivered(s.message.to, s.recipientSeq)
        // Flushed in one turn, not in conversation order: the batch sorts them and hands each its own.
        const { result, statements } = await statementsOf('lowband_flush_deliveries', () =>
          Promise.all(stored.map((s) => messages.flushDelivered(s.message.conversation, 1_700_000_009))))
        expect(statements).toBe(1)
        expect(result).toEqual(stored.map((s) => [{ owner: s.message.from, seq: 2, receipt: { peer: s.message.to, status: 1, cseq: 1, ts: 1_700_000_009 } }]))
        // Each position was merged: a second flush owes nothing.
        expect(await Promise.all(stored.map((s) => messages.flushDelivered(s.message.conversation, 1_700_000_010)))).toEqual([[], [], []])
      } finally {
        await storage.close()
      }
    })

    it('sends the row locks with BEGIN as literals that any id survives', async () => {
      const storage = await openPostgresStorage(await databases.create())
      try {
        const odd = "o'brien\\'); DROP TABLE messages; --"
        const sent = await storage.messages.appendDirect(draft({ from: odd, to: 'bo"b' }))
        expect(sent.recipientSeq).toBe(1)
        expect((await storage.messages.readInbox(odd, 0, 10)).map((e) => e.message?.from)).toEqual([odd])
      } finally {
        await storage.close()
      }
    })
  })
})
