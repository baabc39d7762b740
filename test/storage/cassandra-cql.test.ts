import { describe, expect, it } from 'vitest'
import { conversationOf, type NewDirectMessage } from '../../storage/contracts.js'
import { cqlOptions } from '../../storage/cassandra/connect.js'
import { CassandraCursorRecords } from '../../storage/cassandra/device-cursor-records.js'
import type { CqlRow } from '../../storage/cassandra/cql-client.js'
import { CLAIM_TIMEOUT_MS, CassandraMessageLog } from '../../storage/cassandra/message-log.js'
import { CassandraMessageStore } from '../../storage/cassandra/messages.js'
import { SCHEMA, SEQUENCE_BUCKET } from '../../storage/cassandra/schema.js'
import { MAX_LWT_ATTEMPTS } from '../../storage/cassandra/sequences.js'
import { encodeRecord } from '../../storage/embedded/record-codec.js'
import { RetriableError } from '../../storage/retriable.js'
import { FakeCql, type Script } from '../helpers/fake-cql.js'

const LOCAL_QUORUM = 6
const SERIAL = 8
const NOW = 1_700_000_000_000
const draft = (over: Partial<NewDirectMessage> = {}): NewDirectMessage => ({
  from: 'alice', fromDevice: 'phone', to: 'bob', body: 'hi', kind: 0, ts: 1_700_000_000, clientMsgId: 'c1', ...over
})
const ab = conversationOf('alice', 'bob')

function open (script?: Script, now = (): number => NOW): { cql: FakeCql, log: CassandraMessageLog } {
  const cql = new FakeCql(script)
  let n = 0
  return { cql, log: new CassandraMessageLog(cql, cqlOptions('localQuorum'), () => `m${++n}`, now) }
}

/** A `messages` row as the driver returns it (bigints as strings stand in for Longs). */
function messageRow (id: string, cseq: number, over: CqlRow = {}): CqlRow {
  return {
    id, conversation: ab, cseq: String(cseq), sender: 'alice', sender_device: 'phone', recipient: 'bob', is_group: false, kind: 0,
    ts: '1700000000', body: encodeRecord(`body ${cseq}`), client_msg_id: encodeRecord('c1'), ...over
  }
}

describe('cassandra message store: CQL and parameter binding (recording fake driver)', () => {
  it('appends: claims the dedup key, takes numbers by LWT, writes the rows in one batch with their buckets', async () => {
    const { cql, log } = open()
    const first = await log.append(draft(), ['bob', 'alice'], false)
    expect(cql.executed.map((s) => [s.query, s.params])).toEqual([
      ['INSERT INTO message_dedup (dedup_key, message_id, claimed_at) VALUES (?, ?, ?) IF NOT EXISTS', ['alice/phone/sc1', 'm1', NOW]],
      ['INSERT INTO sequences (scope, key, n) VALUES (?, ?, 1) IF NOT EXISTS', ['c', ab]],
      ['INSERT INTO sequences (scope, key, n) VALUES (?, ?, 1) IF NOT EXISTS', ['u', 'alice']],
      ['INSERT INTO sequences (scope, key, n) VALUES (?, ?, 1) IF NOT EXISTS', ['u', 'bob']]
    ])
    expect(cql.batches).toHaveLength(1)
    const [message, history, ...inbox] = cql.batches[0]!.queries
    expect(message!.query).toMatch(/^INSERT INTO messages \(id, conversation, cseq, .*, holders, holder_seqs\) VALUES/)
    expect(message!.params).toEqual(['m1', ab, 1, 'alice', 'phone', 'bob', false, 0, 1_700_000_000, encodeRecord('hi'), encodeRecord('c1'), ['alice', 'bob'], [1, 1]])
    expect(history!.query).toMatch(/^INSERT INTO conversation_messages \(id, conversation, cseq, .*, holders, bucket\) VALUES/)
    expect(history!.params.slice(0, 3)).toEqual(['m1', ab, 1])
    expect(history!.params.slice(-2)).toEqual([['alice', 'bob'], 0])
    expect(inbox.map((q) => [q.query, q.params])).toEqual([
      ['INSERT INTO inbox (user_id, bucket, seq, message_id) VALUES (?, ?, ?, ?)', ['alice', 0, 1, 'm1']],
      ['INSERT INTO inbox (user_id, bucket, seq, message_id) VALUES (?, ?, ?, ?)', ['bob', 0, 1, 'm1']]
    ])
    expect(first).toMatchObject({ message: { id: 'm1', cseq: 1, conversation: ab }, seqs: { alice: 1, bob: 1 }, duplicate: false })

    // The next number is a compare-and-set on the value this node last saw.
    cql.executed.length = 0
    const second = await log.append(draft({ clientMsgId: 'c2' }), ['alice', 'bob'], false)
    expect(cql.statements('UPDATE sequences').map((s) => s.params)).toEqual([[2, 'c', ab, 1], [2, 'u', 'alice', 1], [2, 'u', 'bob', 1]])
    expect(second).toMatchObject({ message: { cseq: 2 }, seqs: { alice: 2, bob: 2 } })
  })

  it('puts a sequence in the bucket of SEQUENCE_BUCKET numbers it falls in', async () => {
    const { cql, log } = open((query) => query.startsWith('INSERT INTO sequences') ? [{ '[applied]': false, n: String(SEQUENCE_BUCKET * 2 - 1) }] : undefined)
    const { message } = await log.append(draft({ to: 'alice' }), ['alice'], false)
    expect(message.cseq).toBe(SEQUENCE_BUCKET * 2)
    const [, history, inbox] = cql.batches[0]!.queries
    expect(history!.params.at(-1)).toBe(2)
    expect(inbox!.params).toEqual(['alice', 2, SEQUENCE_BUCKET * 2, 'm1'])
  })

  it('answers a resend of the same client message id with the first one, writing nothing', async () => {
    const { cql, log } = open((query, params) => {
      if (query.startsWith('INSERT INTO message_dedup')) return [{ '[applied]': false, dedup_key: params[0], message_id: 'm0', claimed_at: String(NOW) }]
      if (query.startsWith('SELECT') && query.includes('FROM messages')) return [{ ...messageRow('m0', 7), holders: ['alice', 'bob'], holder_seqs: ['12', '30'] }]
      return undefined
    })
    const again = await log.append(draft(), ['alice', 'bob'], false)
    expect(again).toMatchObject({ message: { id: 'm0', cseq: 7, body: 'body 7' }, seqs: { alice: 12, bob: 30 }, duplicate: true })
    expect(cql.statements('SELECT').map((s) => s.params)).toEqual([['m0']])
    expect(cql.statements('INSERT INTO sequences')).toEqual([])
    expect(cql.statements('UPDATE')).toEqual([])
    expect(cql.batches).toEqual([])
  })

  it('refuses a resend while the first send is being stored, and takes over a claim left by a dead writer', async () => {
    let now = NOW
    const { cql, log } = open((query, params) => {
      if (query.startsWith('INSERT INTO message_dedup')) return [{ '[applied]': false, dedup_key: params[0], message_id: 'm0', claimed_at: String(NOW) }]
      if (query.startsWith('SELECT')) return []
      return undefined
    }, () => now)
    await expect(log.append(draft(), ['alice', 'bob'], false)).rejects.toBeInstanceOf(RetriableError)
    expect(cql.batches).toEqual([])
    now = NOW + CLAIM_TIMEOUT_MS
    const taken = await log.append(draft(), ['alice', 'bob'], false)
    expect(cql.statements('UPDATE message_dedup').map((s) => [s.query, s.params])).toEqual([
      ['UPDATE message_dedup SET message_id = ?, claimed_at = ? WHERE dedup_key = ? IF message_id = ?', ['m2', now, 'alice/phone/sc1', 'm0']]
    ])
    expect(taken).toMatchObject({ message: { id: 'm2' }, duplicate: false })
    expect(cql.batches).toHaveLength(1)
  })

  it('retries a contended LWT with the value the refusal returned, and gives up with a RetriableError', async () => {
    const answers = [{ '[applied]': false, n: '7' }, { '[applied]': false, n: '9' }]
    const { cql, log } = open((query, params) => {
      if (query.startsWith('INSERT INTO sequences') && params[0] === 'c') return [{ '[applied]': false, n: '5' }]
      if (query.startsWith('UPDATE sequences') && params[1] === 'c') return [answers.shift() ?? { '[applied]': true }]
      return undefined
    })
    const { message } = await log.append(draft(), ['alice', 'bob'], false)
    expect(cql.statements('UPDATE sequences').map((s) => s.params)).toEqual([[6, 'c', ab, 5], [8, 'c', ab, 7], [10, 'c', ab, 9]])
    expect(message.cseq).toBe(10)

    const { log: stuck } = open((query) => query.includes('sequences') ? [{ '[applied]': false, n: '1' }] : undefined)
    await expect(stuck.append(draft(), ['alice', 'bob'], false)).rejects.toBeInstanceOf(RetriableError)
    expect(MAX_LWT_ATTEMPTS).toBeGreaterThan(1)
  })

  it('passes the configured consistency (and SERIAL for LWT) on every statement and batch of the whole store', async () => {
    const cql = new FakeCql((query) => query.startsWith('SELECT n FROM sequences') ? [{ n: '1' }] : undefined)
    const store = new CassandraMessageStore(cql, cqlOptions('localQuorum'), () => 'm1')
    const { recipientSeq } = await store.appendDirect(draft())
    expect(await store.markDelivered('bob', recipientSeq)).toBe(ab)
    expect(await store.flushDelivered(ab, 2)).toHaveLength(1)
    expect(await store.markRead('bob', 'alice', 1, 3)).toHaveLength(2)
    await store.readInbox('bob', 0, 10)
    await store.history('alice', 'bob', 0, 10)
    await store.markDeliveredUpTo('bob', 5)
    expect(new Set(cql.executed.map((s) => s.query.split(' ').slice(0, 3).join(' '))).size).toBeGreaterThan(8)
    for (const { options } of [...cql.executed, ...cql.batches]) expect(options).toEqual({ prepare: true, consistency: LOCAL_QUORUM, serialConsistency: SERIAL })
    expect(cqlOptions('one').consistency).toBe(1)
  })

  it('pages history newest bucket first, from the partition start (cseq DESC), with LIMIT one more than asked', async () => {
    expect(SCHEMA.find((s) => s.cql.includes('conversation_messages'))!.cql).toContain('CLUSTERING ORDER BY (cseq DESC)')
    const head = SEQUENCE_BUCKET + 2
    const { cql, log } = open((query, params) => {
      if (query.startsWith('SELECT n FROM sequences')) return [{ n: String(head) }]
      if (!query.includes('FROM conversation_messages')) return undefined
      const bucket = params[1] as number
      const below = params[2] as number
      const inBucket = Array.from({ length: head }, (_, i) => head - i).filter((c) => c < below && Math.floor(c / SEQUENCE_BUCKET) === bucket)
      return inBucket.slice(0, params[3] as number).map((c) => messageRow(`m${c}`, c))
    })
    const latest = await log.historyPage(ab, 0, 5)
    const pages = cql.statements('SELECT id')
    expect(pages.map((s) => s.query)).toEqual(['SELECT id, conversation, cseq, sender, sender_device, recipient, is_group, kind, ts, body, client_msg_id FROM conversation_messages WHERE conversation = ? AND bucket = ? AND cseq < ? LIMIT ?', expect.any(String)])
    // Bucket 1 holds 1024..1026: three rows, so the walk goes on into bucket 0 for the rest.
    expect(pages.map((s) => s.params)).toEqual([[ab, 1, head + 1, 6], [ab, 0, head + 1, 3]])
    expect(latest.messages.map((m) => m.cseq)).toEqual([1022, 1023, 1024, 1025, 1026])
    expect(latest.more).toBe(true)

    cql.executed.length = 0
    const oldest = await log.historyPage(ab, 3, 5)
    expect(cql.statements('SELECT n FROM sequences')).toEqual([])
    expect(cql.executed.map((s) => s.params)).toEqual([[ab, 0, 3, 6]])
    expect(oldest).toMatchObject({ messages: [{ cseq: 1 }, { cseq: 2 }], more: false })
  })

  it('reads an inbox after a cursor, ascending, across buckets up to the head, with messages and receipts', async () => {
    const head = SEQUENCE_BUCKET + 1
    const { cql, log } = open((query, params) => {
      if (query.startsWith('SELECT n FROM sequences')) return params[0] === 'u' && params[1] === 'bob' ? [{ n: String(head) }] : []
      if (query.includes('FROM inbox')) {
        const bucket = params[1] as number
        const after = params[2] as number
        const seqs = Array.from({ length: head }, (_, i) => i + 1).filter((s) => s > after && Math.floor(s / SEQUENCE_BUCKET) === bucket)
        return seqs.slice(0, params[3] as number).map((seq) => seq % 2 === 0
          ? { seq: String(seq), message_id: `m${seq}`, receipt_peer: null }
          : { seq: String(seq), message_id: null, receipt_peer: 'alice', receipt_group: null, receipt_status: 2, receipt_cseq: '4', receipt_ts: '1700000001' })
      }
      if (query.includes('FROM messages')) return [messageRow(params[0] as string, 3)]
      return undefined
    })
    const entries = await log.readInbox('bob', SEQUENCE_BUCKET - 2, 10)
    const reads = cql.statements('SELECT seq')
    expect(reads[0]!.query).toBe('SELECT seq, message_id, receipt_peer, receipt_group, receipt_status, receipt_cseq, receipt_ts FROM inbox WHERE user_id = ? AND bucket = ? AND seq > ? ORDER BY seq ASC LIMIT ?')
    expect(reads.map((s) => s.params)).toEqual([['bob', 0, SEQUENCE_BUCKET - 2, 10], ['bob', 1, SEQUENCE_BUCKET - 2, 9]])
    expect(entries.map((e) => e.seq)).toEqual([1023, 1024, 1025])
    expect(entries[0]).toEqual({ seq: 1023, receipt: { peer: 'alice', status: 2, cseq: 4, ts: 1_700_000_001 } })
    expect(entries[1]!.message).toMatchObject({ id: 'm1024', cseq: 3, from: 'alice', to: 'bob' })
    expect(await log.inboxHead('bob')).toBe(head)

    // An inbox row whose message row is not readable yet (a batch being applied) ends the page before it.
    const script = cql.script
    cql.script = (query, params) => query.includes('FROM messages') && params[0] === 'm1024' ? [] : script(query, params)
    expect((await log.readInbox('bob', SEQUENCE_BUCKET - 2, 10)).map((e) => e.seq)).toEqual([1023])
    cql.script = script
    expect(await log.inboxHead('nobody')).toBe(0)

    // A page filled by the first bucket reads no further bucket.
    cql.executed.length = 0
    expect((await log.readInbox('bob', SEQUENCE_BUCKET - 2, 1)).map((e) => e.seq)).toEqual([1023])
    expect(cql.statements('SELECT seq').map((s) => s.params)).toEqual([['bob', 0, SEQUENCE_BUCKET - 2, 1]])

    // Nothing after the head: no inbox partition is read.
    cql.executed.length = 0
    expect(await log.readInbox('bob', head, 10)).toEqual([])
    expect(cql.statements('SELECT seq')).toEqual([])
  })

  it('writes device cursors with the seq as the write timestamp (the greater wins), and reads them back', async () => {
    const cql = new FakeCql((query, params) => query.startsWith('SELECT seq FROM device_cursors') ? (params[1] === 'phone' ? [{ seq: '9' }] : []) : undefined)
    const records = new CassandraCursorRecords(cql, cqlOptions('localQuorum'))
    await records.write([{ userId: 'bob', deviceId: 'phone', seq: 9 }, { userId: 'bob', deviceId: 'tablet', seq: 2 }])
    expect(cql.executed.map((s) => [s.query, s.params])).toEqual([
      ['INSERT INTO device_cursors (user_id, device_id, seq) VALUES (?, ?, ?) USING TIMESTAMP ?', ['bob', 'phone', 9, 9]],
      ['INSERT INTO device_cursors (user_id, device_id, seq) VALUES (?, ?, ?) USING TIMESTAMP ?', ['bob', 'tablet', 2, 2]]
    ])
    expect(await records.read('bob', 'phone')).toBe(9)
    expect(await records.read('bob', 'laptop')).toBeUndefined()
    expect(cql.statements('SELECT').map((s) => s.params)).toEqual([['bob', 'phone'], ['bob', 'laptop']])
  })
})
