/**
 * The Cassandra schema of the message store, created at start (CREATE … IF NOT EXISTS, so every
 * node may run it; statements are numbered like the PostgreSQL migrations so a later change is a
 * new numbered step). The keyspace is the operator's (--cassandra-keyspace): its replication is a
 * deployment decision, so the adapter never creates it.
 *
 * Partitions are bounded by a bucket of SEQUENCE_BUCKET consecutive numbers of the partition's
 * sequence (cseq for a conversation, seq for an inbox) rather than by a time bucket: a cursor or
 * a history page's `before` names its partition directly, so no read has to discover which buckets
 * exist, and a burst of traffic cannot grow one partition past SEQUENCE_BUCKET rows.
 */

/** Numbers per partition of conversation_messages and inbox. 1024 rows of ~200 bytes ≈ 200 KiB. */
export const SEQUENCE_BUCKET = 1024

export function bucketOf (sequence: number): number {
  return Math.floor(sequence / SEQUENCE_BUCKET)
}

export const SCHEMA: ReadonlyArray<{ version: number, cql: string }> = [
  // Counters: scope 'c' a conversation's cseq, 'u' a user's inbox seq. Moved only by LWT (sequences.ts).
  { version: 1, cql: 'CREATE TABLE IF NOT EXISTS sequences (scope text, key text, n bigint, PRIMARY KEY ((scope, key)))' },
  // (sender, device, client message id) → the message stored for it; claimed_at in ms lets a resend
  // take over a claim whose writer died before storing the message (messages.ts).
  { version: 2, cql: 'CREATE TABLE IF NOT EXISTS message_dedup (dedup_key text PRIMARY KEY, message_id text, claimed_at bigint)' },
  // A message by id (inbox entries and dedup point here). body and client_msg_id are CBOR.
  {
    version: 3,
    cql: `CREATE TABLE IF NOT EXISTS messages (id text PRIMARY KEY, conversation text, cseq bigint, sender text, sender_device text,
      recipient text, is_group boolean, kind int, ts bigint, body blob, client_msg_id blob, holders list<text>, holder_seqs list<bigint>)`
  },
  // History: a conversation's messages, newest first within each bucket (one partition per page).
  // holders: who has each message, for the delivered and read walks of a group.
  {
    version: 4,
    cql: `CREATE TABLE IF NOT EXISTS conversation_messages (conversation text, bucket int, cseq bigint, id text, sender text,
      sender_device text, recipient text, is_group boolean, kind int, ts bigint, body blob, client_msg_id blob, holders list<text>,
      PRIMARY KEY ((conversation, bucket), cseq)) WITH CLUSTERING ORDER BY (cseq DESC)`
  },
  // A user's inbox: each seq holds a message id or a receipt. Cursor reads walk it ascending.
  {
    version: 5,
    cql: `CREATE TABLE IF NOT EXISTS inbox (user_id text, bucket int, seq bigint, message_id text, receipt_peer text,
      receipt_group boolean, receipt_status int, receipt_cseq bigint, receipt_ts bigint,
      PRIMARY KEY ((user_id, bucket), seq)) WITH CLUSTERING ORDER BY (seq DESC)`
  },
  // Delivered and read state of a conversation, one partition: per member how far messages to it
  // reached one of its devices (delivered) and how far it read (read_to); for a group, the points
  // up to which every member has every message (static). All moved forward only, by LWT.
  {
    version: 6,
    cql: `CREATE TABLE IF NOT EXISTS conversation_state (conversation text, member text, delivered bigint, read_to bigint,
      delivered_to_all bigint static, read_by_all bigint static, PRIMARY KEY ((conversation), member))`
  },
  // Each device's delivery cursor (device-cursor-records.ts): written with the seq as its write
  // timestamp, so the greater seq wins whichever broker writes last, without an LWT.
  { version: 7, cql: 'CREATE TABLE IF NOT EXISTS device_cursors (user_id text, device_id text, seq bigint, PRIMARY KEY ((user_id), device_id))' }
]
