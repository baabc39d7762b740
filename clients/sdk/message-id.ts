import type { Conversation } from './conversation.js'

/**
 * A message's id in the SDK: its conversation and cseq, which the wire carries instead of a server
 * id. Every device of both sides derives the same string: a 1:1 conversation is named by its two
 * users in sorted order. `:` cannot occur in user or group ids, so ids never collide.
 */
export function messageId (self: string, conversation: Conversation, cseq: number): string {
  if ('group' in conversation) return `g:${conversation.group}:${cseq}`
  const peer = conversation.user
  return self < peer ? `u:${self}:${peer}:${cseq}` : `u:${peer}:${self}:${cseq}`
}
