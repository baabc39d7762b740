import { CLIENT_MSG_ID_BYTES, type ClientMsgId } from '../../protocol/envelopes.js'

/** Random bytes: unique per device without coordination (see CLIENT_MSG_ID_BYTES), 8 bytes on the wire. */
export function newClientMsgId (): Uint8Array {
  return globalThis.crypto.getRandomValues(new Uint8Array(CLIENT_MSG_ID_BYTES))
}

/** A Map key for any client message id the protocol allows (bytes, string or integer). */
export function clientMsgIdKey (id: ClientMsgId): string {
  if (typeof id === 'string') return `s:${id}`
  if (typeof id === 'number') return `n:${id}`
  let hex = 'b:'
  for (const byte of id) hex += byte.toString(16).padStart(2, '0')
  return hex
}
