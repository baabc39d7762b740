import type { StoredMessage } from './contracts.js'

/**
 * What the delivered and read walks of the stores several brokers share (PostgreSQL, Cassandra)
 * need of a message: who it is for.
 */
export interface MessageRef {
  conversation: string
  cseq: number
  from: string
  to: string
  group: boolean
  kind: number
  /** Groups: the members it was stored for, the sender excluded. */
  recipients: string[]
}

export function refOf (message: StoredMessage, holders: readonly string[]): MessageRef {
  return {
    conversation: message.conversation,
    cseq: message.cseq,
    from: message.from,
    to: message.to,
    group: message.group === true,
    kind: message.kind,
    recipients: message.group === true ? holders.filter((u) => u !== message.from) : []
  }
}

/** True for a message that `user` is to receive: someone else's 1:1 message to it, or a group message stored for it. */
export function isFor (ref: MessageRef, user: string): boolean {
  return ref.group ? ref.recipients.includes(user) : ref.to === user && ref.from !== user
}
