import { dhKeyPair, signingKeyPair, type KeyPair } from './primitives.js'
import type { ResponderKeys } from './session-cipher.js'
import { newSignedPreKey } from './x3dh.js'

/** One-time prekeys made at a time, and how many signed prekeys are kept for late prekey messages. */
export const PREKEY_BATCH = 50
const SIGNED_PREKEYS_KEPT = 3

export interface SignedPreKeyRecord {
  id: number
  pair: KeyPair
  signature: Uint8Array
}

/** A device's own long-term and prekey material (private halves included). */
export interface DeviceKeys {
  identity: KeyPair
  /** Newest last; the newest is the one published. */
  signedPreKeys: SignedPreKeyRecord[]
  /** One-time prekeys not yet used: [id, pair]. */
  preKeys: Array<[number, KeyPair]>
  nextPreKeyId: number
  /** One-time prekey ids made but not yet published. */
  unpublished: number[]
}

export function newDeviceKeys (): DeviceKeys {
  const identity = signingKeyPair()
  const { pair, signature } = newSignedPreKey(identity)
  const keys: DeviceKeys = { identity, signedPreKeys: [{ id: 1, pair, signature }], preKeys: [], nextPreKeyId: 1, unpublished: [] }
  addPreKeys(keys, PREKEY_BATCH)
  return keys
}

/** Makes `count` one-time prekeys, to be published. */
export function addPreKeys (keys: DeviceKeys, count: number): void {
  for (let i = 0; i < count; i++) {
    const id = keys.nextPreKeyId++
    keys.preKeys.push([id, dhKeyPair()])
    keys.unpublished.push(id)
  }
}

/** A new signed prekey (rotation); the last few old ones stay, for prekey messages still in flight. */
export function rotateSignedPreKey (keys: DeviceKeys): void {
  const { pair, signature } = newSignedPreKey(keys.identity)
  const id = (keys.signedPreKeys.at(-1)?.id ?? 0) + 1
  keys.signedPreKeys = [...keys.signedPreKeys, { id, pair, signature }].slice(-SIGNED_PREKEYS_KEPT)
}

export function currentSignedPreKey (keys: DeviceKeys): SignedPreKeyRecord {
  return keys.signedPreKeys.at(-1)!
}

/** The responder's view of these keys, for decryptFrom. */
export function responderKeys (keys: DeviceKeys): ResponderKeys {
  return {
    identity: keys.identity,
    signedPreKey: (id) => keys.signedPreKeys.find((k) => k.id === id)?.pair,
    preKey: (id) => keys.preKeys.find(([keyId]) => keyId === id)?.[1]
  }
}

/** A one-time prekey was used: its private half goes, so a replay of that first message cannot open a second session. */
export function usePreKey (keys: DeviceKeys, id: number): void {
  keys.preKeys = keys.preKeys.filter(([keyId]) => keyId !== id)
}

/** The bundle a fetcher would get for these keys, taking one one-time prekey (for tests and the directory's shape). */
export function bundleOf (keys: DeviceKeys, preKeyId?: number): { identityKey: Uint8Array, signedPreKeyId: number, signedPreKey: Uint8Array, signature: Uint8Array, preKeyId?: number, preKey?: Uint8Array } {
  const spk = currentSignedPreKey(keys)
  const preKey = preKeyId === undefined ? undefined : keys.preKeys.find(([id]) => id === preKeyId)?.[1]
  return {
    identityKey: keys.identity.publicKey,
    signedPreKeyId: spk.id,
    signedPreKey: spk.pair.publicKey,
    signature: spk.signature,
    ...(preKey === undefined ? {} : { preKeyId: preKeyId!, preKey: preKey.publicKey })
  }
}
