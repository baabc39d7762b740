import { LowbandError } from '../../../protocol/errors.js'
import type { DeviceState } from './device-state.js'
import { decodeDistribution, distributionOf, encodeDistribution, groupDecrypt, groupEncrypt, groupKeyId, newSenderKey, peerKeyOf, type OwnSenderKey } from './sender-keys.js'

/**
 * This device's sender keys: its own per group (made on the first send, given to each member device
 * once, over their pairwise sessions, and replaced when a member leaves or is removed) and the ones
 * other member devices gave it.
 */
export class GroupKeys {
  readonly #state: DeviceState
  readonly #self: string

  /** `self`: this device's address, `<user>/<device>`. */
  constructor (state: DeviceState, self: string) {
    this.#state = state
    this.#self = self
  }

  /** My sender key for the group, made now if there is none, and the devices that already have it. */
  own (group: string): { key: OwnSenderKey, sentTo: string[] } {
    return this.#state.ownSenderKeys[group] ??= { key: newSenderKey(), sentTo: [] }
  }

  /** The distribution message of my key as it is now: given with a message, it lets the receiver read that message and the ones after. */
  distribution (group: string): Uint8Array {
    return encodeDistribution(distributionOf(this.own(group).key))
  }

  encrypt (group: string, plaintext: Uint8Array): Uint8Array {
    return groupEncrypt(this.own(group).key, plaintext, context(group, this.#self))
  }

  /** The message holding the distribution to these devices is stored: they have my key. */
  given (group: string, key: OwnSenderKey, addresses: string[]): void {
    const own = this.#state.ownSenderKeys[group]
    if (own?.key.keyId === key.keyId) own.sentTo = [...new Set([...own.sentTo, ...addresses])]
  }

  /** A member left or was removed: my next message goes under a new key that only the members then get. */
  rotate (group: string): void {
    delete this.#state.ownSenderKeys[group]
  }

  /** Another device's distribution message for the group. */
  accept (group: string, sender: string, distribution: Uint8Array): void {
    const d = decodeDistribution(distribution)
    const known = this.#state.peerSenderKeys[peerId(group, sender)]
    // The same key given again (a resend): keep the state that has moved on.
    if (known?.keyId === d.keyId && known.iteration <= d.iteration) return
    this.#state.peerSenderKeys[peerId(group, sender)] = peerKeyOf(d)
  }

  decrypt (group: string, sender: string, message: Uint8Array): Uint8Array {
    const key = this.#state.peerSenderKeys[peerId(group, sender)]
    if (key === undefined || key.keyId !== groupKeyId(message)) throw new LowbandError('UNDECRYPTABLE', `no sender key of ${sender} in ${group}`)
    const { plaintext, key: next } = groupDecrypt(key, message, context(group, sender))
    this.#state.peerSenderKeys[peerId(group, sender)] = next
    return plaintext
  }
}

const peerId = (group: string, sender: string): string => `${group}/${sender}`
const context = (group: string, sender: string): string => `lowband group ${group} from ${sender}`
