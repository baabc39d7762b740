import { LowbandError } from '../../protocol/errors.js'
import { isValidId } from '../../protocol/ids.js'
import { AddMembersArgs, CreateGroupArgs, GroupArgs, GroupInfo, MemberArgs, RenameArgs, type OpName } from '../../protocol/requests.js'
import type { Requests } from './requests.js'

export type { GroupInfo } from '../../protocol/requests.js'

/**
 * Group administration over request/response. Every change is checked by the broker (admins
 * only, and so on) and answered with the group as it is now; a refusal rejects with its
 * LowbandError (NOT_ADMIN, NOT_MEMBER, ALREADY_MEMBER, GROUP_FULL, UNKNOWN_GROUP, …). Each change
 * is also announced to the members by a system message (see onGroupEvent).
 */
export class GroupOps {
  readonly #requests: Requests
  /** Called after a change succeeded: its system message is in this user's inbox now. */
  readonly #changed: () => void

  constructor (requests: Requests, changed: () => void) {
    this.#requests = requests
    this.#changed = changed
  }

  /** A new group with this user as its admin and first member, plus `members`. */
  async create (name: string, members: readonly string[] = []): Promise<GroupInfo> {
    return this.#change('createGroup', CreateGroupArgs.toCbor({ name: groupName(name), members: ids('members', members) }))
  }

  async addMembers (group: string, users: readonly string[]): Promise<GroupInfo> {
    return this.#change('addMembers', AddMembersArgs.toCbor({ group: id('group', group), users: ids('users', users) }))
  }

  async removeMember (group: string, user: string): Promise<GroupInfo> {
    return this.#change('removeMember', MemberArgs.toCbor({ group: id('group', group), user: id('user', user) }))
  }

  async promote (group: string, user: string): Promise<GroupInfo> {
    return this.#change('promote', MemberArgs.toCbor({ group: id('group', group), user: id('user', user) }))
  }

  async demote (group: string, user: string): Promise<GroupInfo> {
    return this.#change('demote', MemberArgs.toCbor({ group: id('group', group), user: id('user', user) }))
  }

  async rename (group: string, name: string): Promise<GroupInfo> {
    return this.#change('rename', RenameArgs.toCbor({ group: id('group', group), name: groupName(name) }))
  }

  async leave (group: string): Promise<void> {
    await this.#requests.request('leave', GroupArgs.toCbor({ group: id('group', group) }))
    this.#changed()
  }

  async info (group: string): Promise<GroupInfo> {
    return GroupInfo.fromCbor(await this.#requests.request('groupInfo', GroupArgs.toCbor({ group: id('group', group) })))
  }

  async list (): Promise<GroupInfo[]> {
    const result = await this.#requests.request('listGroups')
    if (!Array.isArray(result)) throw new LowbandError('BAD_ENVELOPE', 'listGroups: expected an array')
    return result.map((item: unknown) => GroupInfo.fromCbor(item))
  }

  async #change (op: OpName, args: Map<number, unknown>): Promise<GroupInfo> {
    const info = GroupInfo.fromCbor(await this.#requests.request(op, args))
    this.#changed()
    return info
  }
}

/** Ids are checked here so a typo fails at once with the broker's own code, not after a round trip. */
function id (field: string, value: string): string {
  if (typeof value !== 'string' || !isValidId(value)) throw new LowbandError('BAD_ENVELOPE', `${field}: not an id: ${JSON.stringify(value)}`)
  return value
}

function groupName (name: string): string {
  if (typeof name !== 'string' || name.trim() === '' || name.length > 100) throw new LowbandError('BAD_ENVELOPE', `name: 1-100 characters, got ${JSON.stringify(name)}`)
  return name
}

function ids (field: string, values: readonly string[]): string[] {
  if (!Array.isArray(values)) throw new LowbandError('BAD_ENVELOPE', `${field}: expected an array of ids`)
  return values.map((value) => id(field, value))
}
