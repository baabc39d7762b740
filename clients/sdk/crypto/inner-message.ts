import type { Body } from '../../../protocol/envelopes.js'
import { decodeCbor, encodeCbor } from '../../../protocol/cbor.js'
import { LowbandError } from '../../../protocol/errors.js'

/**
 * What an encrypted message holds once decrypted: the CBOR array [kind, body] — any message kind the
 * application sends (text, media with its media key, …), so the broker sees neither the kind nor
 * the body — or [kind, body, meta] for a resend (meta: 1 the original message's cseq, 2 its group,
 * 3 the sender key of that group).
 */
export interface InnerMessage {
  readonly kind: number
  readonly body: Body
  readonly resendOf?: { readonly cseq: number, readonly group?: string, readonly senderKey?: Uint8Array }
}

export function encodeInner (inner: InnerMessage): Uint8Array {
  if (inner.resendOf === undefined) return encodeCbor([inner.kind, inner.body])
  const { cseq, group, senderKey } = inner.resendOf
  const meta = new Map<number, unknown>([[1, cseq]])
  if (group !== undefined) meta.set(2, group)
  if (senderKey !== undefined) meta.set(3, senderKey)
  return encodeCbor([inner.kind, inner.body, meta])
}

export function decodeInner (bytes: Uint8Array): InnerMessage {
  const item = decodeCbor(bytes)
  if (!Array.isArray(item) || typeof item[0] !== 'number' || (typeof item[1] !== 'string' && !(item[1] instanceof Uint8Array))) {
    throw new LowbandError('BAD_KEYS', 'not an inner message')
  }
  const meta = item[2]
  if (!(meta instanceof Map)) return { kind: item[0], body: item[1] as Body }
  const cseq = meta.get(1)
  const group = meta.get(2)
  const senderKey = meta.get(3)
  if (typeof cseq !== 'number') throw new LowbandError('BAD_KEYS', 'a resend names its message')
  return {
    kind: item[0],
    body: item[1] as Body,
    resendOf: { cseq, ...(typeof group === 'string' ? { group } : {}), ...(senderKey instanceof Uint8Array ? { senderKey } : {}) }
  }
}
