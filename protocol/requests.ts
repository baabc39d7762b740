import { z } from 'zod'
import { defineEnvelope } from './envelope.js'

const id = z.string().regex(/^[A-Za-z0-9_.@-]{1,64}$/)
const uint = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER)

/**
 * Request/response over MQTT: a device publishes a Request on `c/q` and gets a Response with the
 * same `rid` on `u/<self>/q`. `args` and `result` are CBOR maps whose keys depend on `op`.
 */
export const OP = {
  history: 1,
  setPrivacy: 2,
  addContact: 3,
  removeContact: 4,
  createGroup: 10,
  addMembers: 11,
  removeMember: 12,
  promote: 13,
  demote: 14,
  leave: 15,
  rename: 16,
  groupInfo: 17,
  listGroups: 18,
  registerPush: 20,
  unregisterPush: 21,
  listPush: 22,
  mediaUpload: 30,
  mediaParts: 31,
  mediaComplete: 32,
  mediaDownload: 33,
  // 40–49: the key directory (protocol/e2e.ts).
  publishKeys: 40,
  fetchBundles: 41
} as const
export type OpName = keyof typeof OP

export const Request = defineEnvelope({ rid: 1, op: 2, args: 3 }, z.object({
  rid: uint,
  op: uint,
  args: z.unknown().optional()
}))
export type Request = ReturnType<typeof Request.decode>

export const Response = defineEnvelope({ rid: 1, result: 2, code: 3, detail: 4 }, z.object({
  rid: uint,
  result: z.unknown().optional(),
  /** An error code of errors.ts when the request failed. */
  code: uint.optional(),
  detail: z.string().optional()
}))
export type Response = ReturnType<typeof Response.decode>

/** history: messages of the conversation with `peer` before `before` (a cseq; 0 = from the newest), newest last. */
export const HistoryArgs = defineEnvelope({ peer: 1, before: 2, limit: 3, group: 4 }, z.object({
  peer: id,
  before: uint.optional(),
  limit: uint.min(1).max(100).optional(),
  /** True when `peer` is a group. */
  group: z.boolean().optional()
}))
export type HistoryArgs = ReturnType<typeof HistoryArgs.decode>

/** One message of a history page, with its status as the requester sees it; identified by its `cseq` (key 1 is unused). */
export const HistoryItem = defineEnvelope({ from: 2, body: 3, kind: 4, cseq: 5, ts: 6, status: 7 }, z.object({
  from: id,
  body: z.union([z.string(), z.custom<Uint8Array>((v) => v instanceof Uint8Array)]),
  kind: uint.optional(),
  cseq: uint,
  ts: uint,
  /** 0 sent, 1 delivered, 2 read. */
  status: uint.max(2)
}))
export type HistoryItem = ReturnType<typeof HistoryItem.decode>

/** The history result: the page (oldest first) and whether older messages exist. */
export const HistoryPage = defineEnvelope({ items: 1, more: 2 }, z.object({ items: z.array(z.unknown()), more: z.boolean() }))

/** setPrivacy: who may see my online state and last seen. */
export const PRIVACY = { everyone: 0, contacts: 1, nobody: 2 } as const
export const PrivacyArgs = defineEnvelope({ presence: 1 }, z.object({ presence: z.union([z.literal(0), z.literal(1), z.literal(2)]) }))

/** addContact / removeContact. */
export const ContactArgs = defineEnvelope({ user: 1 }, z.object({ user: id }))

/**
 * A group's name as members' apps show it: 1-100 characters after trimming, any script, emoji and
 * direction marks, but no control characters (C0, DEL, C1: NUL, newlines, escapes), which no name
 * needs and which break what displays, logs or stores it.
 */
const groupName = z.string().trim().min(1).max(100).regex(/^\P{Cc}*$/u, 'no control characters')

/** createGroup: a name and the first members (the creator is added, as admin). Result: GroupInfo. */
export const CreateGroupArgs = defineEnvelope({ name: 1, members: 2 }, z.object({ name: groupName, members: z.array(id).max(1024).optional() }))

/** addMembers: users to add. */
export const AddMembersArgs = defineEnvelope({ group: 1, users: 2 }, z.object({ group: id, users: z.array(id).min(1).max(1024) }))

/** removeMember, promote, demote: one user. */
export const MemberArgs = defineEnvelope({ group: 1, user: 2 }, z.object({ group: id, user: id }))

/** leave, groupInfo: the group. */
export const GroupArgs = defineEnvelope({ group: 1 }, z.object({ group: id }))

/** rename: a new name. */
export const RenameArgs = defineEnvelope({ group: 1, name: 2 }, z.object({ group: id, name: groupName }))

/** A group as a member sees it (result of createGroup, groupInfo; items of listGroups). */
export const GroupInfo = defineEnvelope({ id: 1, name: 2, admins: 3, members: 4, created: 5, createdBy: 6 }, z.object({
  id,
  name: z.string(),
  admins: z.array(id),
  members: z.array(id),
  created: uint,
  createdBy: id
}))
export type GroupInfo = ReturnType<typeof GroupInfo.decode>

/** Push platforms by their wire number (registerPush `platform`, listPush items). */
export const PUSH_PLATFORMS = ['android', 'ios', 'web'] as const
export type PushPlatform = typeof PUSH_PLATFORMS[number]

/**
 * A push token as FCM issues it (Android, iOS through APNs, or the web): printable ASCII without
 * spaces. Checked by the broker with its own code (PUSH_TOKEN_INVALID), so the schema takes any text.
 * At most 2048 characters (FCM's are about 160): a store indexes tokens to keep each on one device,
 * and PostgreSQL's btree index takes at most 2704 bytes per entry.
 */
export const PUSH_TOKEN_PATTERN = /^[\x21-\x7e]{1,2048}$/

/**
 * registerPush: this device's push token (the device is the connection's own: a device registers
 * only itself). Re-registering replaces the device's token; a token another device held moves here.
 */
export const RegisterPushArgs = defineEnvelope({ token: 1, platform: 2 }, z.object({
  token: z.string(),
  /** 0 android, 1 ios, 2 web (PUSH_PLATFORMS). */
  platform: z.union([z.literal(0), z.literal(1), z.literal(2)])
}))

/** One item of the listPush result: a device of the requesting user with its push token. */
export const PushTokenInfo = defineEnvelope({ device: 1, platform: 2, token: 3 }, z.object({
  device: id,
  platform: z.union([z.literal(0), z.literal(1), z.literal(2)]),
  token: z.string()
}))
export type PushTokenInfo = ReturnType<typeof PushTokenInfo.decode>
