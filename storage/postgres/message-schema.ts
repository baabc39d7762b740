import type { Migration } from './migrations.js'

/**
 * Migration 4: the message store (storage/postgres/messages.ts). Every number a message gets — its
 * conversation's cseq and a seq in each holder's inbox — comes from a counter row updated in the
 * transaction that inserts the message, so two brokers sharing the database can never hand out one
 * number twice, and the row locks they take (held to commit) make one conversation's messages reach
 * every inbox in cseq order. lowband_append does one append in one round trip.
 */
export const messageStoreMigration: Migration = {
  version: 4,
  name: 'message store: messages, inboxes, counters, dedup, delivered and read watermarks',
  sql: `
    -- One row per conversation: its cseq counter, and for groups the delivered-to-all and read-by-all
    -- points. Locked (FOR UPDATE) by whoever moves those, so brokers move them in one order.
    CREATE TABLE conversations (
      conversation text COLLATE "C" PRIMARY KEY,
      head bigint NOT NULL,
      delivered_to_all bigint NOT NULL DEFAULT 0,
      read_by_all bigint NOT NULL DEFAULT 0
    );

    CREATE TABLE inbox_heads (
      user_id text COLLATE "C" PRIMARY KEY,
      head bigint NOT NULL
    );

    -- body and client_msg_id are CBOR (text or bytes, as the device sent them). holders are the
    -- users with the message in their inbox, sorted, with their seqs at the same index.
    CREATE TABLE messages (
      id text COLLATE "C" PRIMARY KEY,
      conversation text COLLATE "C" NOT NULL,
      cseq bigint NOT NULL,
      sender text COLLATE "C" NOT NULL,
      sender_device text COLLATE "C" NOT NULL,
      recipient text COLLATE "C" NOT NULL,
      is_group boolean NOT NULL,
      kind smallint NOT NULL,
      -- Unix seconds
      ts bigint NOT NULL,
      body bytea NOT NULL,
      client_msg_id bytea NOT NULL,
      holders text[] COLLATE "C" NOT NULL,
      holder_seqs bigint[] NOT NULL,
      -- history pages and the delivered/read walks read this index backwards and forwards
      UNIQUE (conversation, cseq)
    );

    -- (sender, device, client message id) → the message stored for it. Inserted first in an append,
    -- so a concurrent resend on another broker waits for it and then finds it.
    CREATE TABLE message_dedup (
      dedup_key text COLLATE "C" PRIMARY KEY,
      message_id text COLLATE "C" NOT NULL
    );

    -- A user's inbox: each seq holds a message or a receipt. Cursor reads walk the primary key.
    CREATE TABLE inbox (
      user_id text COLLATE "C" NOT NULL,
      seq bigint NOT NULL,
      message_id text COLLATE "C",
      receipt_peer text COLLATE "C",
      receipt_group boolean,
      -- 1 delivered, 2 read, 3 read by me (ReceiptStatus)
      receipt_status smallint,
      receipt_cseq bigint,
      receipt_ts bigint,
      PRIMARY KEY (user_id, seq),
      CHECK ((message_id IS NULL) <> (receipt_peer IS NULL))
    );

    -- Every message to recipient in the conversation up to cseq "at" reached one of its devices.
    CREATE TABLE deliveries (
      conversation text COLLATE "C" NOT NULL,
      recipient text COLLATE "C" NOT NULL,
      at bigint NOT NULL,
      PRIMARY KEY (conversation, recipient)
    );

    -- reader has read the conversation up to cseq.
    CREATE TABLE read_marks (
      conversation text COLLATE "C" NOT NULL,
      reader text COLLATE "C" NOT NULL,
      cseq bigint NOT NULL,
      PRIMARY KEY (conversation, reader)
    );

    -- One append. A group message is checked against the group's members under a share lock on its
    -- row (saveGroup's update waits for it, and it for saveGroup), so a membership change takes effect
    -- from the next message whichever broker stores it; a system message (p_system) goes to the
    -- holders its caller names (the members before and after the change). A group unknown to this
    -- database is stored for p_holders. The caller (committer.ts) has locked the conversation and
    -- inbox counter rows already, in one order for the whole transaction, so appends on several
    -- brokers wait for each other rather than deadlock.
    CREATE FUNCTION lowband_append (
      p_id text, p_conversation text, p_dedup text, p_sender text, p_sender_device text, p_recipient text,
      p_group boolean, p_system boolean, p_kind integer, p_ts bigint, p_body bytea, p_client_msg_id bytea, p_holders text[]
    ) RETURNS TABLE (status text, message_id text, cseq bigint, holders text[], seqs bigint[])
    LANGUAGE plpgsql AS $fn$
    #variable_conflict use_column
    DECLARE
      v_members text[];
      v_holders text[] := p_holders;
      v_cseq bigint;
      v_seq bigint;
      v_seqs bigint[] := '{}';
      v_user text;
    BEGIN
      IF p_group THEN
        SELECT g.members INTO v_members FROM groups g WHERE g.id = p_recipient FOR SHARE;
        IF FOUND AND NOT p_system THEN
          IF NOT (p_sender = ANY (v_members)) THEN
            RETURN QUERY SELECT 'not_member'::text, NULL::text, NULL::bigint, NULL::text[], NULL::bigint[];
            RETURN;
          END IF;
          v_holders := v_members;
        END IF;
      END IF;
      INSERT INTO message_dedup (dedup_key, message_id) VALUES (p_dedup, p_id) ON CONFLICT (dedup_key) DO NOTHING;
      IF NOT FOUND THEN
        RETURN QUERY SELECT 'duplicate'::text, m.id, m.cseq, m.holders, m.holder_seqs
          FROM message_dedup d JOIN messages m ON m.id = d.message_id WHERE d.dedup_key = p_dedup;
        RETURN;
      END IF;
      INSERT INTO conversations AS c (conversation, head) VALUES (p_conversation, 1)
        ON CONFLICT (conversation) DO UPDATE SET head = c.head + 1 RETURNING c.head INTO v_cseq;
      SELECT array_agg(DISTINCT u ORDER BY u) INTO v_holders FROM unnest(v_holders) AS u;
      FOREACH v_user IN ARRAY v_holders LOOP
        INSERT INTO inbox_heads AS h (user_id, head) VALUES (v_user, 1)
          ON CONFLICT (user_id) DO UPDATE SET head = h.head + 1 RETURNING h.head INTO v_seq;
        v_seqs := v_seqs || v_seq;
      END LOOP;
      INSERT INTO messages (id, conversation, cseq, sender, sender_device, recipient, is_group, kind, ts, body, client_msg_id, holders, holder_seqs)
        VALUES (p_id, p_conversation, v_cseq, p_sender, p_sender_device, p_recipient, p_group, p_kind, p_ts, p_body, p_client_msg_id, v_holders, v_seqs);
      INSERT INTO inbox (user_id, seq, message_id) SELECT u, s, p_id FROM unnest(v_holders, v_seqs) AS t (u, s);
      RETURN QUERY SELECT 'stored'::text, p_id, v_cseq, v_holders, v_seqs;
    END
    $fn$;

    -- A receipt at the next seq of its owner's inbox.
    CREATE FUNCTION lowband_append_receipt (
      p_owner text, p_peer text, p_group boolean, p_status smallint, p_cseq bigint, p_ts bigint
    ) RETURNS bigint
    LANGUAGE plpgsql AS $fn$
    DECLARE
      v_seq bigint;
    BEGIN
      INSERT INTO inbox_heads AS h (user_id, head) VALUES (p_owner, 1)
        ON CONFLICT (user_id) DO UPDATE SET head = h.head + 1 RETURNING h.head INTO v_seq;
      INSERT INTO inbox (user_id, seq, receipt_peer, receipt_group, receipt_status, receipt_cseq, receipt_ts)
        VALUES (p_owner, v_seq, p_peer, p_group, p_status, p_cseq, p_ts);
      RETURN v_seq;
    END
    $fn$;
  `
}

/**
 * Migration 5: the row locks a group-committed transaction takes first (committer.ts), in one round
 * trip instead of four.
 */
export const transactionLocksMigration: Migration = {
  version: 5,
  name: 'lowband_lock: a transaction\'s counter rows locked in one call',
  sql: `
    -- Locks the counter rows a transaction will update, creating missing ones (head 0) first: all
    -- conversations sorted, then all inboxes sorted, one order for every broker (committer.ts).
    CREATE FUNCTION lowband_lock (p_conversations text[], p_users text[]) RETURNS void
    LANGUAGE plpgsql AS $fn$
    BEGIN
      INSERT INTO conversations (conversation, head) SELECT c, 0 FROM unnest(p_conversations) AS c ORDER BY c ON CONFLICT DO NOTHING;
      PERFORM 1 FROM conversations WHERE conversation = ANY (p_conversations) ORDER BY conversation FOR UPDATE;
      INSERT INTO inbox_heads (user_id, head) SELECT u, 0 FROM unnest(p_users) AS u ORDER BY u ON CONFLICT DO NOTHING;
      PERFORM 1 FROM inbox_heads WHERE user_id = ANY (p_users) ORDER BY user_id FOR UPDATE;
    END
    $fn$;
  `
}

/**
 * Migration 7: a 1:1 delivered-watermark flush in one round trip instead of three or four (the
 * positions' row locks, one read mark per owed receipt, the merge, one call per receipt) — at one
 * message per conversation per window, as a chat mostly is, those were most of a message's queries.
 */
export const deliveryFlushMigration: Migration = {
  version: 7,
  name: 'lowband_flush_deliveries: a 1:1 delivered flush and its receipts in one call',
  sql: `
    -- Merges delivered positions forward (never back) and appends the delivered receipts owed
    -- (owner ← peer reached cseq) that neither the stored position nor the peer's read mark already
    -- told: receipts in the order given, positions locked in recipient order first, so two brokers
    -- flushing one conversation wait for each other rather than deadlock.
    CREATE FUNCTION lowband_flush_deliveries (
      p_conversation text, p_recipients text[], p_ats bigint[], p_owners text[], p_peers text[], p_cseqs bigint[], p_ts bigint
    ) RETURNS TABLE (owner text, peer text, cseq bigint, seq bigint)
    LANGUAGE plpgsql AS $fn$
    #variable_conflict use_column
    DECLARE
      r record;
      v_told bigint;
    BEGIN
      PERFORM 1 FROM deliveries d WHERE d.conversation = p_conversation AND d.recipient = ANY (p_recipients) ORDER BY d.recipient FOR UPDATE;
      FOR r IN SELECT t.o, t.p, t.c FROM unnest(p_owners, p_peers, p_cseqs) WITH ORDINALITY AS t (o, p, c, n) ORDER BY t.n LOOP
        SELECT GREATEST(
          (SELECT d.at FROM deliveries d WHERE d.conversation = p_conversation AND d.recipient = r.p),
          (SELECT m.cseq FROM read_marks m WHERE m.conversation = p_conversation AND m.reader = r.p), 0) INTO v_told;
        IF r.c > v_told THEN
          owner := r.o;
          peer := r.p;
          cseq := r.c;
          seq := lowband_append_receipt(r.o, r.p, false, 1::smallint, r.c, p_ts);
          RETURN NEXT;
        END IF;
      END LOOP;
      INSERT INTO deliveries AS d (conversation, recipient, at) SELECT p_conversation, t.r, t.a FROM unnest(p_recipients, p_ats) AS t (r, a) ORDER BY t.r
        ON CONFLICT (conversation, recipient) DO UPDATE SET at = GREATEST(d.at, EXCLUDED.at);
    END
    $fn$;
  `
}

/**
 * Migration 8: every append of a group-committed transaction in one call (messages.ts), and every
 * 1:1 delivered flush in another (deliveries.ts), instead of one round trip each — each of which
 * cost the broker a socket write and PostgreSQL a wake-up, a parse and a plan. The appends run in
 * the order given, each exactly as lowband_append does it, so one conversation's cseqs follow that
 * order, a resend of a message earlier in the same call is found as its duplicate, and the numbers
 * stay gap-free; the flushes likewise each as lowband_flush_deliveries does it.
 */
export const batchedWritesMigration: Migration = {
  version: 8,
  name: 'lowband_append_batch, lowband_flush_deliveries_batch: a transaction\'s appends, and its 1:1 delivered flushes, in one call each',
  sql: `
    -- The arrays hold one append each at the same index; p_holders is every append's holders one
    -- after the other, p_holder_counts[i] of them for append i. One row back per append, in order.
    CREATE FUNCTION lowband_append_batch (
      p_ids text[], p_conversations text[], p_dedups text[], p_senders text[], p_sender_devices text[], p_recipients text[],
      p_groups boolean[], p_systems boolean[], p_kinds integer[], p_ts bigint[], p_bodies bytea[], p_client_msg_ids bytea[],
      p_holder_counts integer[], p_holders text[]
    ) RETURNS TABLE (status text, message_id text, cseq bigint, holders text[], seqs bigint[])
    LANGUAGE plpgsql AS $fn$
    DECLARE
      v_first integer := 1;
    BEGIN
      FOR i IN 1 .. coalesce(array_length(p_ids, 1), 0) LOOP
        RETURN QUERY SELECT * FROM lowband_append(p_ids[i], p_conversations[i], p_dedups[i], p_senders[i], p_sender_devices[i],
          p_recipients[i], p_groups[i], p_systems[i], p_kinds[i], p_ts[i], p_bodies[i], p_client_msg_ids[i],
          p_holders[v_first : v_first + p_holder_counts[i] - 1]);
        v_first := v_first + p_holder_counts[i];
      END LOOP;
    END
    $fn$;

    -- Flush i has p_position_counts[i] positions and p_receipt_counts[i] receipts owed, taken one
    -- flush after the other from the position and receipt arrays. Rows back carry their flush's i.
    -- The caller sorts the flushes by conversation, so two brokers lock delivery rows in one order.
    CREATE FUNCTION lowband_flush_deliveries_batch (
      p_conversations text[], p_position_counts integer[], p_recipients text[], p_ats bigint[],
      p_receipt_counts integer[], p_owners text[], p_peers text[], p_cseqs bigint[], p_ts bigint[]
    ) RETURNS TABLE (flush integer, owner text, peer text, cseq bigint, seq bigint)
    LANGUAGE plpgsql AS $fn$
    #variable_conflict use_column
    DECLARE
      v_position integer := 1;
      v_receipt integer := 1;
      v_positions integer;
      v_receipts integer;
    BEGIN
      FOR i IN 1 .. coalesce(array_length(p_conversations, 1), 0) LOOP
        v_positions := p_position_counts[i];
        v_receipts := p_receipt_counts[i];
        RETURN QUERY SELECT i, f.owner, f.peer, f.cseq, f.seq FROM lowband_flush_deliveries(p_conversations[i],
          p_recipients[v_position : v_position + v_positions - 1], p_ats[v_position : v_position + v_positions - 1],
          p_owners[v_receipt : v_receipt + v_receipts - 1], p_peers[v_receipt : v_receipt + v_receipts - 1],
          p_cseqs[v_receipt : v_receipt + v_receipts - 1], p_ts[i]) AS f;
        v_position := v_position + v_positions;
        v_receipt := v_receipt + v_receipts;
      END LOOP;
    END
    $fn$;
  `
}
