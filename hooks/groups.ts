import { randomBytes } from 'node:crypto'
import { KIND, SystemEvent } from '../protocol/envelopes.js'
import { LowbandError } from '../protocol/errors.js'
import type { Group } from '../storage/contracts.js'
import type { HookContext, Identity } from './context.js'
import { fanOut, holdersByPresence, pushFallback } from './fan-out.js'
import { BROKER_DEVICE } from './system-kind.js'

/**
 * Runs `work` under the group's lock with the group as it is now, if `userId` is a member. Sends and
 * membership changes of one group take this lock, so each message is stored for exactly the members
 * of its moment. (Per broker process: several nodes would need the lock in shared storage.)
 */
export function memberLocked<T> (ctx: HookContext, groupId: string, userId: string, work: (group: Group) => Promise<T>): Promise<T> {
  return ctx.groupLocks.run(groupId, async () => work(await groupOfMember(ctx, groupId, userId)))
}

/** The group, if `userId` is a member; for reads, which need no lock and must not queue behind sends. */
export async function groupOfMember (ctx: HookContext, groupId: string, userId: string): Promise<Group> {
  const group = await ctx.storage.directory.group(groupId)
  if (group === undefined) throw new LowbandError('UNKNOWN_GROUP', groupId)
  if (!group.members.includes(userId)) throw new LowbandError('NOT_MEMBER', groupId)
  return group
}

/**
 * "alice added bob": a system message (kind 2, body a SystemEvent), stored and delivered like any
 * other group message, to `holders` — the members after the change, plus anyone it removed.
 */
export async function announce (ctx: HookContext, actor: Identity, group: Group, event: SystemEvent, holders: string[]): Promise<void> {
  const stored = await ctx.storage.messages.appendGroup({
    from: actor.userId,
    // The broker's mark: what makes it go out as a system message (system-kind.ts).
    fromDevice: BROKER_DEVICE,
    to: group.id,
    body: SystemEvent.encode(event),
    kind: KIND.system,
    ts: Math.floor(ctx.now() / 1000),
    clientMsgId: randomBytes(8)
  }, holders)
  // Like a send: stored before the answer, delivered without waiting for the slowest member.
  const { online, offline } = holdersByPresence(ctx, stored.message, stored.seqs)
  ctx.inFlight.track(fanOut(ctx, stored.message, stored.seqs, online)).then(() => pushFallback(ctx, stored.message, stored.seqs, offline), (error: unknown) => {
    ctx.log.error({ err: error, group: group.id }, 'system message fan-out failed')
  })
}

export function newGroupId (): string {
  return `g${randomBytes(8).toString('hex')}`
}
