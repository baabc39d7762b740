import type { Migration } from './migrations.js'

/**
 * A batch's appends as lowband_append_batch's arguments give them (migration 8's signature), one
 * row per append: `n` its place in the call (1, 2, …), its holders, and whether a group message is
 * refused because its sender is not a member. A known group's members replace the holders
 * given, except for a system message, which goes to whom its caller names (the members before and
 * after a change); a group unknown to this database keeps the holders given. `holders` is sorted
 * (byte order) and distinct, as messages.holders keeps it. Used twice in lowband_append_set: the
 * writing statement and the answer.
 */
const APPENDS = `
  SELECT a.n, a.id, a.conversation COLLATE "C" AS conversation, a.dedup, a.sender, a.sender_device, a.recipient, a.is_group,
    a.kind, a.ts, a.body, a.client_msg_id,
    (a.is_group AND NOT a.is_system AND g.members IS NOT NULL AND NOT (a.sender = ANY (g.members))) AS refused,
    ARRAY(SELECT DISTINCT u.user_id COLLATE "C" FROM unnest(
      CASE WHEN a.is_group AND NOT a.is_system AND g.members IS NOT NULL THEN g.members
      ELSE p_holders[a.first : a.first + a.holder_count - 1] END) AS u (user_id) ORDER BY 1) AS holders
  FROM (
    SELECT x.*, (sum(x.holder_count) OVER (ORDER BY x.n) - x.holder_count + 1)::integer AS first
    FROM unnest(p_ids, p_conversations, p_dedups, p_senders, p_sender_devices, p_recipients, p_groups, p_systems, p_kinds,
      p_ts, p_bodies, p_client_msg_ids, p_holder_counts)
      WITH ORDINALITY AS x (id, conversation, dedup, sender, sender_device, recipient, is_group, is_system, kind, ts, body, client_msg_id, holder_count, n)
  ) a LEFT JOIN LATERAL (SELECT gr.members FROM groups gr WHERE a.is_group AND gr.id = a.recipient LIMIT 1) g ON true`

/**
 * Batches of at least this many appends take the set-wise statements; smaller ones migration 8's
 * loop. The set-wise form costs PostgreSQL more per call (two statements of ~60 plan nodes, five of
 * them writes) and less per append. Backend CPU per append (`node dist/bench/postgres-append-sizes.js
 * 2000 1,4,8,12,16,32,64 2`, two rounds, load average 5–6), loop / set-wise: batch 1 620–725 /
 * 840–905 µs, 4 170–220 / 205–255, 8 115–150 / 125–150, 12 100–140 / 100–130, 16 105–115 / 90–110,
 * 32 79–109 / 74–79, 64 81–86 / 55–60: they cross between 8 and 16.
 */
const SETWISE_FROM = 12

const ARGUMENTS = `p_ids text[], p_conversations text[], p_dedups text[], p_senders text[], p_sender_devices text[], p_recipients text[],
      p_groups boolean[], p_systems boolean[], p_kinds integer[], p_ts bigint[], p_bodies bytea[], p_client_msg_ids bytea[],
      p_holder_counts integer[], p_holders text[]`

/**
 * Migration 9: lowband_append_set, a batch's appends (lowband_append_batch's arguments, the same
 * rows back) as a few set-wise statements for the whole batch instead of migration 8's loop of
 * lowband_append, whose ~10 statements per message (each an executor start and its own index
 * probes) were most of PostgreSQL's CPU per message in large batches; lowband_append_batch now hands
 * it the batches of SETWISE_FROM appends or more, and the smaller ones to that loop, renamed
 * lowband_append_each. What the loop guaranteed, the statements keep:
 * - one conversation's cseqs, and each inbox's seqs, follow the order of the call and have no gap:
 *   a counter moves once per conversation and once per user by the number of messages it takes,
 *   and each message gets `row_number()` in call order past the old head;
 * - the first append of a dedup key (in call order) claims it; a later one in the same call, or one
 *   whose key an earlier transaction claimed, is answered with the stored message's numbers and
 *   takes none; a refused group message claims nothing and takes no number;
 * - the counter rows are updated in one order (conversations, then users, each sorted), as
 *   lowband_lock has already locked them for the committer's transactions, so two brokers can
 *   never hand out one number twice and wait for each other rather than deadlock;
 * - a group's row is read under a share lock, so saveGroup waits for the batch and a membership
 *   change takes effect from the next message.
 * The answer is a statement of its own: in READ COMMITTED it sees a dedup key that another
 * broker's transaction committed while this one's INSERT … ON CONFLICT waited for it.
 */
export const setwiseAppendMigration: Migration = {
  version: 9,
  name: 'lowband_append_set: a large batch\'s appends as set-wise statements, one INSERT per table, each counter moved once',
  sql: `
    -- Generic plans, made once per connection: planning these statements afresh for each call
    -- (PostgreSQL's choice for statements whose arrays it cannot size) cost ~0.5 ms, more than
    -- running them for a small batch; every table is reached by an index probe per row, so no
    -- plan depends on the batch's size. Set with set_config for the call and put back at its
    -- end, not as the function's SET clause, which made each call ~4× dearer (an error aborts
    -- the transaction, and the setting with it).
    CREATE FUNCTION lowband_append_set (${ARGUMENTS})
    RETURNS TABLE (status text, message_id text, cseq bigint, holders text[], seqs bigint[])
    LANGUAGE plpgsql AS $fn$
    #variable_conflict use_column
    DECLARE
      v_plan_cache_mode text := current_setting('plan_cache_mode');
    BEGIN
      PERFORM set_config('plan_cache_mode', 'force_generic_plan', true);
      IF true = ANY (p_groups) THEN
        PERFORM 1 FROM groups g WHERE g.id = ANY (ARRAY(SELECT t.r FROM unnest(p_recipients, p_groups) AS t (r, is_group) WHERE t.is_group))
          ORDER BY g.id FOR SHARE;
      END IF;
      WITH appends AS MATERIALIZED (${APPENDS}),
      claimed AS (
        INSERT INTO message_dedup (dedup_key, message_id)
          SELECT DISTINCT ON (a.dedup) a.dedup, a.id FROM appends a WHERE NOT a.refused ORDER BY a.dedup, a.n
          ON CONFLICT (dedup_key) DO NOTHING
          RETURNING message_dedup.message_id
      ),
      stored AS (SELECT a.* FROM appends a JOIN claimed c ON c.message_id = a.id),
      conversation_takes AS (SELECT s.conversation, count(*) AS taken FROM stored s GROUP BY s.conversation),
      conversation_heads AS (
        INSERT INTO conversations AS c (conversation, head) SELECT t.conversation, t.taken FROM conversation_takes t ORDER BY t.conversation
          ON CONFLICT (conversation) DO UPDATE SET head = c.head + EXCLUDED.head
          RETURNING c.conversation, c.head
      ),
      holdings AS (SELECT s.n, s.id, u.user_id, u.k FROM stored s, unnest(s.holders) WITH ORDINALITY AS u (user_id, k)),
      inbox_takes AS (SELECT h.user_id, count(*) AS taken FROM holdings h GROUP BY h.user_id),
      inbox_heads_moved AS (
        INSERT INTO inbox_heads AS h (user_id, head) SELECT t.user_id, t.taken FROM inbox_takes t ORDER BY t.user_id
          ON CONFLICT (user_id) DO UPDATE SET head = h.head + EXCLUDED.head
          RETURNING h.user_id, h.head
      ),
      slots AS (
        SELECT o.n, o.id, o.user_id, o.k, m.head - t.taken + row_number() OVER (PARTITION BY o.user_id ORDER BY o.n) AS seq
        FROM holdings o JOIN inbox_takes t ON t.user_id = o.user_id JOIN inbox_heads_moved m ON m.user_id = o.user_id
      ),
      inbox_rows AS (INSERT INTO inbox (user_id, seq, message_id) SELECT sl.user_id, sl.seq, sl.id FROM slots sl),
      message_seqs AS (SELECT sl.n, array_agg(sl.seq ORDER BY sl.k) AS seqs FROM slots sl GROUP BY sl.n)
      INSERT INTO messages (id, conversation, cseq, sender, sender_device, recipient, is_group, kind, ts, body, client_msg_id, holders, holder_seqs)
        SELECT s.id, s.conversation, h.head - t.taken + row_number() OVER (PARTITION BY s.conversation ORDER BY s.n),
          s.sender, s.sender_device, s.recipient, s.is_group, s.kind, s.ts, s.body, s.client_msg_id, s.holders, coalesce(q.seqs, '{}')
        FROM stored s JOIN conversation_takes t ON t.conversation = s.conversation JOIN conversation_heads h ON h.conversation = s.conversation
          LEFT JOIN message_seqs q ON q.n = s.n;
      RETURN QUERY
        SELECT CASE WHEN a.refused THEN 'not_member' WHEN m.id = a.id THEN 'stored' ELSE 'duplicate' END, m.id, m.cseq, m.holders, m.holder_seqs
        FROM (${APPENDS}) a
          -- LIMIT 1: an index probe per append, never a join over the whole table
          LEFT JOIN LATERAL (SELECT ms.id, ms.cseq, ms.holders, ms.holder_seqs FROM message_dedup d JOIN messages ms ON ms.id = d.message_id
            WHERE NOT a.refused AND d.dedup_key = a.dedup LIMIT 1) m ON true
        ORDER BY a.n;
      PERFORM set_config('plan_cache_mode', v_plan_cache_mode, true);
    END
    $fn$;

    -- Migration 8's loop, kept for small batches under a name of its own; lowband_append_batch
    -- (what messages.ts calls) picks the form by the batch's size.
    ALTER FUNCTION lowband_append_batch (text[], text[], text[], text[], text[], text[], boolean[], boolean[], integer[], bigint[], bytea[], bytea[], integer[], text[])
      RENAME TO lowband_append_each;
    CREATE FUNCTION lowband_append_batch (${ARGUMENTS})
    RETURNS TABLE (status text, message_id text, cseq bigint, holders text[], seqs bigint[])
    LANGUAGE plpgsql AS $fn$
    BEGIN
      IF coalesce(array_length(p_ids, 1), 0) >= ${SETWISE_FROM} THEN
        RETURN QUERY SELECT * FROM lowband_append_set(p_ids, p_conversations, p_dedups, p_senders, p_sender_devices, p_recipients,
          p_groups, p_systems, p_kinds, p_ts, p_bodies, p_client_msg_ids, p_holder_counts, p_holders);
      ELSE
        RETURN QUERY SELECT * FROM lowband_append_each(p_ids, p_conversations, p_dedups, p_senders, p_sender_devices, p_recipients,
          p_groups, p_systems, p_kinds, p_ts, p_bodies, p_client_msg_ids, p_holder_counts, p_holders);
      END IF;
    END
    $fn$;
  `
}
