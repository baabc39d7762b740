import { Decoder, Encoder } from 'cbor-x'
import { newDeviceKeys, type DeviceKeys } from './device-keys.js'
import type { OwnSenderKey, PeerSenderKey } from './sender-keys.js'
import type { SessionRecord } from './session-cipher.js'

/**
 * Everything a device keeps for end-to-end encryption, in one serialisable object (the CLI keeps it
 * in the device's state file, created owner-only): its keys, a session per other device, the
 * identity keys it has seen (to notice a change), the device lists of its correspondents, sender
 * keys per group, and the plaintexts of recent messages (a replay or a resend request reads them
 * again without keys: the ratchet's message keys are used once).
 */
export interface DeviceState {
  version: 1
  keys: DeviceKeys
  /** The identity and signed prekey were published (a new signed prekey or one-time prekeys wait in `keys.unpublished`). */
  published: boolean
  /** `<user>/<device>` → session. */
  sessions: Record<string, SessionRecord>
  /** `<user>/<device>` → its identity key, first seen (trust on first use). */
  identities: Record<string, Uint8Array>
  /** user → its devices with keys, as last fetched (this device excluded). */
  devices: Record<string, string[]>
  /** group → my sender key and the `<user>/<device>`s it was given to. */
  ownSenderKeys: Record<string, { key: OwnSenderKey, sentTo: string[] }>
  /** `<group>/<user>/<device>` → that device's sender key. */
  peerSenderKeys: Record<string, PeerSenderKey>
  /** message id → [kind, body], oldest first, at most MESSAGE_LOG entries. */
  log: Array<[string, [number, string | Uint8Array]]>
}

/** Plaintexts remembered, for replays and resend requests. */
export const MESSAGE_LOG = 500

export function newDeviceState (): DeviceState {
  return { version: 1, keys: newDeviceKeys(), published: false, sessions: {}, identities: {}, devices: {}, ownSenderKeys: {}, peerSenderKeys: {}, log: [] }
}

// Plain CBOR, objects as maps with text keys; byte strings stay bytes.
const encoder = new Encoder({ useRecords: false, tagUint8Array: false })
const decoder = new Decoder({ useRecords: false, mapsAsObjects: true })

export function encodeDeviceState (state: DeviceState): Uint8Array {
  return encoder.encode(state)
}

export function decodeDeviceState (bytes: Uint8Array): DeviceState {
  const state = decoder.decode(bytes) as DeviceState
  if (state?.version !== 1 || state.keys?.identity === undefined) throw new Error('not a lowband device state')
  return state
}
