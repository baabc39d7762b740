import {
  AddMembersArgs, CreateGroupArgs, GroupArgs, GroupInfo, MemberArgs, OP, RenameArgs
} from '../../protocol/requests.js'
import { GROUP_EVENT } from '../../protocol/envelopes.js'
import { LowbandError } from '../../protocol/errors.js'
import type { Group } from '../../storage/contracts.js'
import type { HookContext, Identity } from '../context.js'
import { announce, groupOfMember, memberLocked, newGroupId } from '../groups.js'

type Handler = (ctx: HookContext, actor: Identity, args: unknown) => Promise<unknown>

const info = (group: Group): Map<number, unknown> => GroupInfo.toCbor(group)

function requireAdmin (group: Group, actor: Identity): void {
  if (!group.admins.includes(actor.userId)) throw new LowbandError('NOT_ADMIN', group.id)
}

async function requireUsers (ctx: HookContext, users: string[]): Promise<void> {
  for (const user of users) {
    if (!await ctx.storage.directory.hasUser(user)) throw new LowbandError('UNKNOWN_RECIPIENT', user)
  }
}

function requireRoom (ctx: HookContext, size: number): void {
  if (size > ctx.config.maxGroupSize) throw new LowbandError('GROUP_FULL', `${size} > ${ctx.config.maxGroupSize} members`)
}

/** Group operations over request/response. Every change is checked, saved and announced under the group's lock. */
export const groupHandlers = new Map<number, Handler>([
  [OP.createGroup, async (ctx, actor, args) => {
    const { name, members = [] } = CreateGroupArgs.fromCbor(args)
    const everyone = [...new Set([actor.userId, ...members])]
    await requireUsers(ctx, everyone)
    requireRoom(ctx, everyone.length)
    const group: Group = { id: newGroupId(), name, createdBy: actor.userId, created: Math.floor(ctx.now() / 1000), admins: [actor.userId], members: everyone }
    if (!await ctx.storage.directory.createGroup(group)) throw new LowbandError('STORE_FAILED', 'group id collision')
    await ctx.groupLocks.run(group.id, () => announce(ctx, actor, group, { event: GROUP_EVENT.created, actor: actor.userId, name, targets: everyone.filter((u) => u !== actor.userId) }, everyone))
    return info(group)
  }],
  [OP.addMembers, async (ctx, actor, args) => {
    const { group: id, users } = AddMembersArgs.fromCbor(args)
    return memberLocked(ctx, id, actor.userId, async (group) => {
      requireAdmin(group, actor)
      const added = [...new Set(users)]
      const present = added.find((u) => group.members.includes(u))
      if (present !== undefined) throw new LowbandError('ALREADY_MEMBER', present)
      await requireUsers(ctx, added)
      requireRoom(ctx, group.members.length + added.length)
      const changed = { ...group, members: [...group.members, ...added] }
      await ctx.storage.directory.saveGroup(changed)
      await announce(ctx, actor, changed, { event: GROUP_EVENT.added, actor: actor.userId, targets: added }, changed.members)
      return info(changed)
    })
  }],
  [OP.removeMember, async (ctx, actor, args) => {
    const { group: id, user } = MemberArgs.fromCbor(args)
    return memberLocked(ctx, id, actor.userId, async (group) => {
      requireAdmin(group, actor)
      if (!group.members.includes(user)) throw new LowbandError('NOT_MEMBER', `${user} is not in ${id}`)
      const changed = withoutMember(group, user)
      await ctx.storage.directory.saveGroup(changed)
      await announce(ctx, actor, changed, { event: GROUP_EVENT.removed, actor: actor.userId, targets: [user] }, group.members)
      // An admin may remove itself; the group must not be left without one.
      return info(await keepAnAdmin(ctx, actor, changed))
    })
  }],
  [OP.promote, (ctx, actor, args) => setAdmin(ctx, actor, args, true)],
  [OP.demote, (ctx, actor, args) => setAdmin(ctx, actor, args, false)],
  [OP.leave, async (ctx, actor, args) => {
    const { group: id } = GroupArgs.fromCbor(args)
    return memberLocked(ctx, id, actor.userId, async (group) => {
      const changed = withoutMember(group, actor.userId)
      await ctx.storage.directory.saveGroup(changed)
      await announce(ctx, actor, changed, { event: GROUP_EVENT.left, actor: actor.userId }, group.members)
      await keepAnAdmin(ctx, actor, changed)
      return undefined
    })
  }],
  [OP.rename, async (ctx, actor, args) => {
    const { group: id, name } = RenameArgs.fromCbor(args)
    return memberLocked(ctx, id, actor.userId, async (group) => {
      // Any member may rename, as in the product users know; adding and removing are for admins.
      const changed = { ...group, name }
      await ctx.storage.directory.saveGroup(changed)
      await announce(ctx, actor, changed, { event: GROUP_EVENT.renamed, actor: actor.userId, name }, changed.members)
      return info(changed)
    })
  }],
  [OP.groupInfo, async (ctx, actor, args) => {
    const { group: id } = GroupArgs.fromCbor(args)
    return info(await groupOfMember(ctx, id, actor.userId))
  }],
  [OP.listGroups, async (ctx, actor) => {
    const groups = await Promise.all((await ctx.storage.directory.groupsOf(actor.userId)).map((id) => ctx.storage.directory.group(id)))
    return groups.filter((g): g is Group => g !== undefined).map(info)
  }]
])

async function setAdmin (ctx: HookContext, actor: Identity, args: unknown, admin: boolean): Promise<unknown> {
  const { group: id, user } = MemberArgs.fromCbor(args)
  return memberLocked(ctx, id, actor.userId, async (group) => {
    requireAdmin(group, actor)
    if (!group.members.includes(user)) throw new LowbandError('NOT_MEMBER', `${user} is not in ${id}`)
    if (group.admins.includes(user) === admin) return info(group) // nothing changes, nothing to announce
    const admins = admin ? [...group.admins, user] : group.admins.filter((a) => a !== user)
    if (admins.length === 0) throw new LowbandError('NOT_ADMIN', 'a group keeps at least one admin')
    const changed = { ...group, admins }
    await ctx.storage.directory.saveGroup(changed)
    await announce(ctx, actor, changed, { event: admin ? GROUP_EVENT.promoted : GROUP_EVENT.demoted, actor: actor.userId, targets: [user] }, changed.members)
    return info(changed)
  })
}

/** The last admin left (or removed itself): the longest-standing member takes over, as users expect. */
async function keepAnAdmin (ctx: HookContext, actor: Identity, group: Group): Promise<Group> {
  if (group.admins.length > 0 || group.members.length === 0) return group
  const heir = group.members[0]!
  const inherited = { ...group, admins: [heir] }
  await ctx.storage.directory.saveGroup(inherited)
  await announce(ctx, actor, inherited, { event: GROUP_EVENT.promoted, actor: actor.userId, targets: [heir] }, inherited.members)
  return inherited
}

function withoutMember (group: Group, user: string): Group {
  return { ...group, members: group.members.filter((m) => m !== user), admins: group.admins.filter((a) => a !== user) }
}
