import { decodeEncryptedBody, deviceBody, isEncryptedKind, type EncryptedBody } from '../protocol/e2e.js'
import { InboxMessage, type Body } from '../protocol/envelopes.js'
import type { DeviceId, UserId } from '../protocol/ids.js'
import type { StoredMessage } from '../storage/contracts.js'
import { kindOnWire } from './system-kind.js'

/**
 * The InboxMessage a holder receives, live or replayed: its own inbox `seq`; `group` for group
 * messages; and for the sender's own copies, the recipient (1:1) and the client message id. An
 * encrypted message carries `body` (one device's part, see deviceBodies) and the sending device.
 */
export function encodeInboxMessage (message: StoredMessage, seq: number, forSender: boolean, body: Body = message.body): Buffer {
  const kind = kindOnWire(message)
  return Buffer.from(InboxMessage.encode({
    from: message.from,
    body,
    ts: message.ts,
    seq,
    cseq: message.cseq,
    ...(kind === 0 ? {} : { kind }),
    ...(message.group === true ? { group: message.to } : {}),
    ...(forSender ? { clientMsgId: message.clientMsgId, ...(message.group === true ? {} : { to: message.to }) } : {}),
    ...(isEncryptedKind(message.kind) ? { device: message.fromDevice } : {})
  }))
}

/**
 * For an encrypted message, what each device may receive of its body: its own ciphertext only
 * (protocol/e2e.ts deviceBody), decoded from the stored body once. Undefined for other kinds, whose
 * body every device receives as stored.
 */
export function deviceBodies (message: StoredMessage): ((user: UserId, device: DeviceId) => Uint8Array) | undefined {
  if (!isEncryptedKind(message.kind)) return undefined
  let decoded: EncryptedBody | undefined
  return (user, device) => deviceBody(message.kind, decoded ??= decodeEncryptedBody(message.body), user, device)
}

/** The InboxMessage of one device: for an encrypted message, with that device's part of the body. */
export function encodeForDevice (message: StoredMessage, seq: number, forSender: boolean, user: UserId, device: DeviceId): Buffer {
  const bodies = deviceBodies(message)
  return encodeInboxMessage(message, seq, forSender, bodies === undefined ? message.body : bodies(user, device))
}
