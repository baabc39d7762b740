import { LowbandError } from '../../../protocol/errors.js'
import { ByteReader, ByteWriter } from './byte-codec.js'
import type { Header, ReceivedHeader } from './ratchet.js'
import type { PreKeyPrefix } from './x3dh.js'

/**
 * One device's ciphertext of a message, as it travels. A Double Ratchet header is the sender's
 * ratchet key (32 bytes), PN and N; the key dominates, and it only changes when the sender starts a
 * new sending chain. The broker stores a conversation's messages in order and delivers every
 * device its copies in that order, so once a message carrying a chain's key is *stored*, every later
 * message of that chain reaches the receiver after it. From then on the sender names the chain by its
 * number (one byte) instead of sending the key again. The AEAD still authenticates the full header
 * (ratchet.ts), so nothing about the protocol's guarantees changes; only a message whose chain key
 * the receiver never got (its copy was lost) fails, and it takes the retry path like any
 * undecryptable message. The X3DH prefix follows the same rule: it rides on every message until one
 * carrying it is stored.
 *
 *     compact: 0x01 | chain (1) | N (varint) | ciphertext+tag
 *     full:    0x02 | chain (1) | ratchet key (32) | PN (varint) | N (varint) | ciphertext+tag
 *     prekey:  0x03 | IK_A (32) | EK_A (32) | signed prekey id (varint) | one-time prekey id (varint, 0 = none)
 *                   | chain (1) | ratchet key (32) | PN (varint) | N (varint) | ciphertext+tag
 */
export const MESSAGE_TYPE = { compact: 1, full: 2, preKey: 3 } as const

export interface PairwiseMessage {
  readonly prefix?: PreKeyPrefix
  readonly header: ReceivedHeader
  readonly ciphertext: Uint8Array
}

export function encodePairwise (header: Header, ciphertext: Uint8Array, form: { fullKey: boolean, prefix?: PreKeyPrefix | undefined }): Uint8Array {
  const writer = new ByteWriter()
  if (form.prefix !== undefined) {
    const p = form.prefix
    writer.byte(MESSAGE_TYPE.preKey).bytes(p.identityKey).bytes(p.baseKey).varint(p.signedPreKeyId).varint(p.preKeyId)
  } else {
    writer.byte(form.fullKey ? MESSAGE_TYPE.full : MESSAGE_TYPE.compact)
  }
  writer.byte(header.chain & 0xff)
  if (form.fullKey || form.prefix !== undefined) writer.bytes(header.key).varint(header.pn)
  return writer.varint(header.n).bytes(ciphertext).finish()
}

export function decodePairwise (bytes: Uint8Array): PairwiseMessage {
  const reader = new ByteReader(bytes)
  const type = reader.byte()
  let prefix: PreKeyPrefix | undefined
  if (type === MESSAGE_TYPE.preKey) {
    prefix = { identityKey: reader.bytes(32), baseKey: reader.bytes(32), signedPreKeyId: reader.varint(), preKeyId: reader.varint() }
  } else if (type !== MESSAGE_TYPE.full && type !== MESSAGE_TYPE.compact) {
    throw new LowbandError('BAD_KEYS', `unknown message type ${type}`)
  }
  const chain = reader.byte()
  const header: ReceivedHeader = type === MESSAGE_TYPE.compact
    ? { chain, n: reader.varint() }
    : { chain, key: reader.bytes(32), pn: reader.varint(), n: reader.varint() }
  const ciphertext = reader.rest()
  if (ciphertext.length < 16) throw new LowbandError('BAD_KEYS', 'truncated encrypted message')
  return prefix === undefined ? { header, ciphertext } : { prefix, header, ciphertext }
}
