import { InboxMessage } from '../protocol/envelopes.js'
import type { StoredMessage } from '../storage/contracts.js'
import { kindOnWire } from './system-kind.js'

/**
 * The InboxMessage a holder receives, live or replayed: its own inbox `seq`; `group` for group
 * messages; and for the sender's own copies, the recipient (1:1) and the client message id.
 */
export function encodeInboxMessage (message: StoredMessage, seq: number, forSender: boolean): Buffer {
  const kind = kindOnWire(message)
  return Buffer.from(InboxMessage.encode({
    from: message.from,
    body: message.body,
    ts: message.ts,
    seq,
    cseq: message.cseq,
    ...(kind === 0 ? {} : { kind }),
    ...(message.group === true ? { group: message.to } : {}),
    ...(forSender ? { clientMsgId: message.clientMsgId, ...(message.group === true ? {} : { to: message.to }) } : {})
  }))
}
