import { batchedWritesMigration, deliveryFlushMigration, messageStoreMigration, transactionLocksMigration } from './message-schema.js'
import { setwiseAppendMigration } from './setwise-append-schema.js'

/**
 * The schema, as numbered migrations applied in order (see migrate.ts). A migration, once released,
 * is never edited: change the schema by appending one. Each runs inside the one transaction that
 * applies every pending migration, so it must not use statements that refuse a transaction block
 * (CREATE INDEX CONCURRENTLY, CREATE DATABASE).
 */
export interface Migration {
  /** 1, 2, 3, … with no gaps: the order they are applied in. */
  version: number
  /** What it does, recorded beside the version for whoever reads the table. */
  name: string
  sql: string
}

export const migrations: readonly Migration[] = [
  {
    version: 1,
    name: 'directory: users, devices, contacts, groups and the member index',
    // Ids use the "C" collation so ORDER BY is byte order, the same order the embedded adapter and
    // a JavaScript sort give for ids (protocol/ids.ts allows only ASCII), whatever the database locale.
    sql: `
      CREATE TABLE users (
        id text COLLATE "C" PRIMARY KEY,
        created timestamptz NOT NULL DEFAULT now(),
        -- 0 everyone, 1 contacts, 2 nobody (PresencePrivacy)
        presence_privacy smallint NOT NULL DEFAULT 0 CHECK (presence_privacy BETWEEN 0 AND 2),
        -- Unix seconds; null until the user first goes offline
        last_seen bigint
      );

      CREATE TABLE devices (
        user_id text COLLATE "C" NOT NULL,
        device_id text COLLATE "C" NOT NULL,
        PRIMARY KEY (user_id, device_id)
      );

      -- A contact need not be a registered user yet, so no foreign key.
      CREATE TABLE contacts (
        user_id text COLLATE "C" NOT NULL,
        contact text COLLATE "C" NOT NULL,
        PRIMARY KEY (user_id, contact)
      );

      -- members is the group as saved, in its order; group_members only indexes it for groupsOf.
      CREATE TABLE groups (
        id text COLLATE "C" PRIMARY KEY,
        name text NOT NULL,
        created_by text COLLATE "C" NOT NULL,
        -- Unix seconds
        created bigint NOT NULL,
        admins text[] COLLATE "C" NOT NULL,
        members text[] COLLATE "C" NOT NULL
      );

      CREATE TABLE group_members (
        group_id text COLLATE "C" NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
        user_id text COLLATE "C" NOT NULL,
        PRIMARY KEY (group_id, user_id)
      );
      -- groupsOf reads this index alone, already in group id order.
      CREATE INDEX group_members_by_user ON group_members (user_id, group_id);
    `
  },
  {
    version: 2,
    name: 'push tokens: one per device, one device per token',
    sql: `
      CREATE TABLE push_tokens (
        user_id text COLLATE "C" NOT NULL,
        device_id text COLLATE "C" NOT NULL,
        -- FCM registration token; unique, so a token moves to the device that registers it last
        token text NOT NULL UNIQUE,
        -- 'android', 'ios' or 'web' (protocol PUSH_PLATFORMS)
        platform text NOT NULL CHECK (platform IN ('android', 'ios', 'web')),
        updated timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (user_id, device_id)
      );
    `
  },
  {
    version: 3,
    name: 'key directory: device keys, one-time prekeys and key watchers (end-to-end encryption)',
    sql: `
      -- Public keys only. A device appears here once it has published keys.
      CREATE TABLE device_keys (
        user_id text COLLATE "C" NOT NULL,
        device_id text COLLATE "C" NOT NULL,
        identity_key bytea NOT NULL,
        signed_prekey_id bigint NOT NULL,
        signed_prekey bytea NOT NULL,
        signature bytea NOT NULL,
        PRIMARY KEY (user_id, device_id)
      );

      -- Each row is handed out once (DELETE … RETURNING), lowest id first.
      CREATE TABLE one_time_prekeys (
        user_id text COLLATE "C" NOT NULL,
        device_id text COLLATE "C" NOT NULL,
        key_id bigint NOT NULL,
        key bytea NOT NULL,
        PRIMARY KEY (user_id, device_id, key_id)
      );

      -- Who fetched a user's keys: told when one of that user's identity keys changes.
      CREATE TABLE key_watchers (
        user_id text COLLATE "C" NOT NULL,
        watcher text COLLATE "C" NOT NULL,
        PRIMARY KEY (user_id, watcher)
      );
    `
  },
  messageStoreMigration,
  transactionLocksMigration,
  {
    version: 6,
    name: 'device cursors: where the broker replays from right after CONNACK',
    sql: `
      -- The inbox seq up to which a device acknowledged its deliveries; written in batches.
      CREATE TABLE device_cursors (
        user_id text COLLATE "C" NOT NULL,
        device_id text COLLATE "C" NOT NULL,
        seq bigint NOT NULL,
        PRIMARY KEY (user_id, device_id)
      );
    `
  },
  deliveryFlushMigration,
  batchedWritesMigration,
  setwiseAppendMigration
]
