import { LowbandError } from '../../protocol/errors.js'
import { isValidId } from '../../protocol/ids.js'
import { COMMAND, sendTopic } from '../../protocol/topics.js'

/**
 * A conversation: with one user, or in a group. Group ids and user ids are separate namespaces on
 * the wire (a `group` flag or field says which), so the SDK never guesses from the id itself.
 */
export type Conversation = { readonly user: string } | { readonly group: string }

/** A conversation, or a bare user id as shorthand for `{ user }`. */
export type ConversationRef = Conversation | string

/** Validates a reference once at the API edge; a bad id is the broker's BAD_ENVELOPE, raised early. */
export function toConversation (ref: ConversationRef): Conversation {
  const conversation = typeof ref === 'string' ? { user: ref } : ref
  const id = 'group' in conversation ? conversation.group : conversation.user
  if (typeof id !== 'string' || !isValidId(id)) throw new LowbandError('BAD_ENVELOPE', `not a ${'group' in conversation ? 'group' : 'user'} id: ${JSON.stringify(id)}`)
  return 'group' in conversation ? { group: id } : { user: id }
}

/** The peer field of the wire envelopes (a user or a group id) and whether it is a group. */
export function peerOf (conversation: Conversation): { peer: string, group: boolean } {
  return 'group' in conversation ? { peer: conversation.group, group: true } : { peer: conversation.user, group: false }
}

export function conversationWith (peer: string, group: boolean): Conversation {
  return group ? { group: peer } : { user: peer }
}

/** A Map key; the prefix keeps a user and a group of the same id apart. */
export function conversationKey (conversation: Conversation): string {
  return 'group' in conversation ? `g:${conversation.group}` : `u:${conversation.user}`
}

/** Where a send to the conversation is published: `s/<user>` (1:1, as encodeSend encodes it) or `c/s` (a group). */
export function sendTopicOf (conversation: Conversation): string {
  return 'group' in conversation ? COMMAND.send : sendTopic(conversation.user)
}
