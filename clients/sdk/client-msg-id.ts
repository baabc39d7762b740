import type { ClientMsgId } from '../../protocol/envelopes.js'

/** 8 random bytes: unique per device without coordination, and only 9 bytes on the wire. */
export function newClientMsgId (): Uint8Array {
  return globalThis.crypto.getRandomValues(new Uint8Array(8))
}

/** A Map key for any client message id the protocol allows (bytes, string or integer). */
export function clientMsgIdKey (id: ClientMsgId): string {
  if (typeof id === 'string') return `s:${id}`
  if (typeof id === 'number') return `n:${id}`
  let hex = 'b:'
  for (const byte of id) hex += byte.toString(16).padStart(2, '0')
  return hex
}
