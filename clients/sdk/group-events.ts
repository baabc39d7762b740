import { GROUP_EVENT, SystemEvent, type Body } from '../../protocol/envelopes.js'

export type GroupEventType = keyof typeof GROUP_EVENT

/** What a group's system message (kind 2) says happened, with a line a person can read. */
export interface SystemNotice {
  readonly event: GroupEventType
  readonly actor: string
  readonly targets: readonly string[]
  /** The group's name: on `created` and `renamed`. */
  readonly name?: string
  /** "alice added bob and carol", "you left", … ("you" is this user). */
  readonly text: string
}

/** A system message of a group, as onGroupEvent reports it. */
export interface GroupEvent extends SystemNotice {
  readonly group: string
  /** The system message's id, inbox seq, conversation seq and server time (Unix s). */
  readonly id: string
  readonly seq: number
  readonly cseq: number
  readonly ts: number
}

const EVENT_NAMES: ReadonlyMap<number, GroupEventType> = new Map<number, GroupEventType>(
  (Object.keys(GROUP_EVENT) as GroupEventType[]).map((name) => [GROUP_EVENT[name], name])
)

/**
 * Decodes the body of a system message (kind 2) from `from`. Only the broker sends that kind, and
 * it stamps its events as sent by their actor; an event whose actor is someone else is not the
 * broker's and is not believed. Undefined for that, for a body that is not a SystemEvent, or for an
 * event of a newer broker: the message itself still reaches the application, only its notice is
 * missing.
 */
export function decodeSystemNotice (body: Body, self: string, from: string): SystemNotice | undefined {
  if (!(body instanceof Uint8Array)) return undefined
  let decoded: SystemEvent
  try {
    decoded = SystemEvent.decode(body)
  } catch {
    return undefined
  }
  const event = EVENT_NAMES.get(decoded.event)
  if (event === undefined || decoded.actor !== from) return undefined
  const targets = decoded.targets ?? []
  const notice = { event, actor: decoded.actor, targets, ...(decoded.name === undefined ? {} : { name: decoded.name }) }
  return { ...notice, text: describe(notice, self) }
}

function describe (notice: Omit<SystemNotice, 'text'>, self: string): string {
  const who = (user: string): string => user === self ? 'you' : user
  const actor = who(notice.actor)
  const targets = list(notice.targets.map(who))
  const name = JSON.stringify(notice.name ?? '')
  switch (notice.event) {
    case 'created': return `${actor} created the group ${name}`
    case 'added': return `${actor} added ${targets}`
    case 'removed': return `${actor} removed ${targets}`
    case 'left': return `${actor} left`
    case 'promoted': return `${actor} made ${targets} ${notice.targets.length > 1 ? 'admins' : 'an admin'}`
    case 'demoted': return `${actor} removed ${targets} as ${notice.targets.length > 1 ? 'admins' : 'admin'}`
    case 'renamed': return `${actor} renamed the group to ${name}`
  }
}

/** "bob", "bob and carol", "bob, carol and dave". */
function list (names: string[]): string {
  if (names.length <= 1) return names[0] ?? 'nobody'
  return `${names.slice(0, -1).join(', ')} and ${names.at(-1)!}`
}
