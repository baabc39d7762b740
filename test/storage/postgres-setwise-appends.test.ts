import pg from 'pg'
import { describe, expect, it } from 'vitest'
import { conversationOf, groupConversationOf } from '../../storage/contracts.js'
import { openPostgresStorage } from '../../storage/postgres/index.js'
import { withTestPostgres } from '../helpers/postgres-databases.js'

/** One append as lowband_append_batch takes it (messages.ts sends the same columns). */
interface Append { id: string, from: string, to: string, dedup: string, group?: boolean, system?: boolean, holders?: string[] }

interface Answer { status: string, message_id: string | null, cseq: number | null, holders: string[] | null, seqs: number[] | null }

const CBOR_A = Buffer.from([0x61, 0x61])

function columns (a: Append): { conversation: string, holders: string[] } {
  return {
    conversation: a.group === true ? groupConversationOf(a.to) : conversationOf(a.from, a.to),
    holders: a.holders ?? [a.from, a.to]
  }
}

function answer (row: { status: string, message_id: string | null, cseq: string | null, holders: string[] | null, seqs: string[] | null }): Answer {
  return { status: row.status, message_id: row.message_id, cseq: row.cseq === null ? null : Number(row.cseq), holders: row.holders, seqs: row.seqs?.map(Number) ?? null }
}

/**
 * The appends in one call of `fn`: lowband_append_set (migration 9's set-wise statements, whatever
 * the batch's size), or lowband_append_batch (the set for a large batch, else the loop).
 */
async function appendBatch (db: pg.ClientBase | pg.Pool, appends: readonly Append[], fn = 'lowband_append_set'): Promise<Answer[]> {
  const { rows } = await db.query(
    `SELECT * FROM ${fn}($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
    [appends.map((a) => a.id), appends.map((a) => columns(a).conversation), appends.map((a) => a.dedup), appends.map((a) => a.from),
      appends.map(() => 'phone'), appends.map((a) => a.to), appends.map((a) => a.group === true), appends.map((a) => a.system === true),
      appends.map(() => 0), appends.map(() => 1_700_000_000), appends.map(() => CBOR_A), appends.map(() => CBOR_A),
      appends.map((a) => columns(a).holders.length), appends.flatMap((a) => columns(a).holders)])
  return rows.map(answer)
}

/** The same appends one lowband_append call each, in one transaction: migration 4's form, the reference. */
async function appendOneByOne (pool: pg.Pool, appends: readonly Append[]): Promise<Answer[]> {
  const client = await pool.connect()
  try {
    await client.query('BEGIN')
    const answers: Answer[] = []
    for (const a of appends) {
      const { rows } = await client.query('SELECT * FROM lowband_append($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)',
        [a.id, columns(a).conversation, a.dedup, a.from, 'phone', a.to, a.group === true, a.system === true, 0, 1_700_000_000, CBOR_A, CBOR_A, columns(a).holders])
      answers.push(answer(rows[0]))
    }
    await client.query('COMMIT')
    return answers
  } finally {
    client.release()
  }
}

/** Every row an append writes, in a fixed order. */
async function written (pool: pg.Pool): Promise<unknown> {
  const dump = async (sql: string): Promise<unknown[]> => (await pool.query(sql)).rows
  return {
    messages: await dump('SELECT id, conversation, cseq, sender, recipient, is_group, holders, holder_seqs FROM messages ORDER BY id'),
    inbox: await dump('SELECT user_id, seq, message_id FROM inbox ORDER BY user_id, seq'),
    inboxHeads: await dump('SELECT user_id, head FROM inbox_heads WHERE head > 0 ORDER BY user_id'),
    conversations: await dump('SELECT conversation, head FROM conversations WHERE head > 0 ORDER BY conversation'),
    dedup: await dump('SELECT dedup_key, message_id FROM message_dedup ORDER BY dedup_key')
  }
}

const dm = (id: string, from: string, to: string, dedup = id): Append => ({ id, from, to, dedup })

withTestPostgres('postgres set-wise appends', (databases) => {
  /** A database with the schema, and a group g1 of alice, bob and carol. */
  async function database (): Promise<{ pool: pg.Pool, close: () => Promise<void> }> {
    const url = await databases.create()
    const storage = await openPostgresStorage(url)
    await storage.directory.createGroup({ id: 'g1', name: 'g', createdBy: 'alice', created: 1, admins: ['alice'], members: ['alice', 'bob', 'carol'] })
    await storage.close()
    const pool = new pg.Pool({ connectionString: url })
    return { pool, close: () => pool.end() }
  }

  describe('postgres set-wise appends: a large batch\'s appends as one statement per table (migration 9)', () => {
    it('numbers two messages of one conversation in call order, each inbox gap-free', async () => {
      const { pool, close } = await database()
      try {
        await appendBatch(pool, [dm('m0', 'alice', 'bob')])
        const answers = await appendBatch(pool, [dm('m1', 'alice', 'bob'), dm('m2', 'bob', 'carol'), dm('m3', 'bob', 'alice')])
        expect(answers).toEqual([
          { status: 'stored', message_id: 'm1', cseq: 2, holders: ['alice', 'bob'], seqs: [2, 2] },
          { status: 'stored', message_id: 'm2', cseq: 1, holders: ['bob', 'carol'], seqs: [3, 1] },
          { status: 'stored', message_id: 'm3', cseq: 3, holders: ['alice', 'bob'], seqs: [3, 4] }
        ])
        const { rows } = await pool.query<{ seq: string, message_id: string }>("SELECT seq, message_id FROM inbox WHERE user_id = 'bob' ORDER BY seq")
        expect(rows.map((r) => [Number(r.seq), r.message_id])).toEqual([[1, 'm0'], [2, 'm1'], [3, 'm2'], [4, 'm3']])
      } finally {
        await close()
      }
    })

    it('answers a duplicate within the batch and one of an earlier batch with the stored numbers, taking none', async () => {
      const { pool, close } = await database()
      try {
        await appendBatch(pool, [dm('m1', 'alice', 'bob', 'k1')])
        const answers = await appendBatch(pool, [
          dm('m2', 'alice', 'bob', 'k2'),
          dm('m3', 'alice', 'bob', 'k1'),
          // A different recipient under a used key: the hook refuses it (CLIENT_MSG_ID_REUSED) from this answer.
          dm('m4', 'alice', 'carol', 'k2'),
          dm('m5', 'alice', 'bob', 'k5')
        ])
        expect(answers).toEqual([
          { status: 'stored', message_id: 'm2', cseq: 2, holders: ['alice', 'bob'], seqs: [2, 2] },
          { status: 'duplicate', message_id: 'm1', cseq: 1, holders: ['alice', 'bob'], seqs: [1, 1] },
          { status: 'duplicate', message_id: 'm2', cseq: 2, holders: ['alice', 'bob'], seqs: [2, 2] },
          { status: 'stored', message_id: 'm5', cseq: 3, holders: ['alice', 'bob'], seqs: [3, 3] }
        ])
        const { rows } = await pool.query<{ n: string }>('SELECT count(*) AS n FROM messages')
        expect(Number(rows[0]!.n)).toBe(3)
        expect((await pool.query("SELECT head FROM inbox_heads WHERE user_id = 'carol'")).rows).toEqual([])
      } finally {
        await close()
      }
    })

    it('puts a group message in its members\' inboxes (the stored members, not the ones given), refuses a non-member, sends a system message to whom it names', async () => {
      const { pool, close } = await database()
      try {
        const group = (id: string, from: string, holders: string[], system = false): Append => ({ id, from, to: 'g1', dedup: id, group: true, system, holders })
        const answers = await appendBatch(pool, [
          dm('d1', 'carol', 'bob'),
          group('g-a', 'alice', ['alice', 'bob', 'dave']),
          group('g-dave', 'dave', ['alice', 'dave']),
          group('g-b', 'bob', ['bob']),
          group('g-sys', 'alice', ['erin', 'alice'], true),
          { id: 'x1', from: 'alice', to: 'unknown', dedup: 'x1', group: true, holders: ['zed', 'alice'] }
        ])
        expect(answers).toEqual([
          { status: 'stored', message_id: 'd1', cseq: 1, holders: ['bob', 'carol'], seqs: [1, 1] },
          { status: 'stored', message_id: 'g-a', cseq: 1, holders: ['alice', 'bob', 'carol'], seqs: [1, 2, 2] },
          { status: 'not_member', message_id: null, cseq: null, holders: null, seqs: null },
          { status: 'stored', message_id: 'g-b', cseq: 2, holders: ['alice', 'bob', 'carol'], seqs: [2, 3, 3] },
          { status: 'stored', message_id: 'g-sys', cseq: 3, holders: ['alice', 'erin'], seqs: [3, 1] },
          { status: 'stored', message_id: 'x1', cseq: 1, holders: ['alice', 'zed'], seqs: [4, 1] }
        ])
        const { rows } = await pool.query<{ user_id: string, seq: string, message_id: string }>('SELECT user_id, seq, message_id FROM inbox ORDER BY user_id, seq')
        expect(rows.map((r) => `${r.user_id}:${r.seq}:${r.message_id}`)).toEqual([
          'alice:1:g-a', 'alice:2:g-b', 'alice:3:g-sys', 'alice:4:x1', 'bob:1:d1', 'bob:2:g-a', 'bob:3:g-b',
          'carol:1:d1', 'carol:2:g-a', 'carol:3:g-b', 'erin:1:g-sys', 'zed:1:x1'])
        expect((await pool.query("SELECT head FROM inbox_heads WHERE user_id = 'dave' AND head > 0")).rows).toEqual([])
      } finally {
        await close()
      }
    })

    it('numbers a batch spanning 50 conversations as one append at a time would, row for row', async () => {
      const [setwise, reference] = await Promise.all([database(), database()])
      try {
        const earlier = Array.from({ length: 20 }, (_, i) => dm(`e${i}`, `u${i % 7}`, `u${(i * 3 + 1) % 11}`))
        // 50 pairs among 12 users, several messages per pair and per inbox, resends of this batch and
        // of the earlier one, group messages, a refused one and a message to oneself.
        const batch: Append[] = Array.from({ length: 120 }, (_, i) => dm(`b${String(i).padStart(3, '0')}`, `u${i % 12}`, `u${(i % 50 + Math.floor((i % 50) / 12) + 1) % 12}`))
        batch.push(dm('r1', 'u3', 'u4', 'b010'), dm('r2', 'u0', 'u1', 'e0'), dm('self', 'u5', 'u5'),
          { id: 'g1a', from: 'alice', to: 'g1', dedup: 'g1a', group: true, holders: ['alice'] },
          { id: 'g1x', from: 'u1', to: 'g1', dedup: 'g1x', group: true, holders: ['u1'] })
        const conversations = new Set(batch.map((a) => columns(a).conversation))
        expect(conversations.size).toBeGreaterThanOrEqual(50)
        await appendBatch(setwise.pool, earlier)
        await appendOneByOne(reference.pool, earlier)
        // lowband_append_batch: this size takes the set-wise statements.
        const answers = await appendBatch(setwise.pool, batch, 'lowband_append_batch')
        expect(answers).toEqual(await appendOneByOne(reference.pool, batch))
        expect(answers.filter((a) => a.status === 'stored')).toHaveLength(batch.length - 3)
        expect(await written(setwise.pool)).toEqual(await written(reference.pool))
      } finally {
        await Promise.all([setwise.close(), reference.close()])
      }
    })

    it('answers a key another transaction claimed while this batch waited for it with that transaction\'s message', async () => {
      const { pool, close } = await database()
      const first = await pool.connect()
      const second = await pool.connect()
      try {
        await first.query('BEGIN')
        await appendBatch(first, [dm('m1', 'alice', 'bob', 'k')])
        const pid = (await second.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid
        // Same key, another conversation: no counter row in common, so only the dedup key makes it wait.
        const waiting = appendBatch(second, [dm('m2', 'alice', 'carol', 'k'), dm('m3', 'alice', 'carol', 'k3')])
        for (;;) {
          const { rows } = await pool.query<{ wait: string | null }>('SELECT wait_event_type AS wait FROM pg_stat_activity WHERE pid = $1', [pid])
          if (rows[0]?.wait === 'Lock') break
          await new Promise((resolve) => setTimeout(resolve, 20))
        }
        await first.query('COMMIT')
        expect(await waiting).toEqual([
          { status: 'duplicate', message_id: 'm1', cseq: 1, holders: ['alice', 'bob'], seqs: [1, 1] },
          { status: 'stored', message_id: 'm3', cseq: 1, holders: ['alice', 'carol'], seqs: [2, 1] }
        ])
      } finally {
        first.release()
        second.release()
        await close()
      }
    })
  })
})
