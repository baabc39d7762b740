import type { Bundle } from '../../../protocol/e2e.js'
import { LowbandError } from '../../../protocol/errors.js'
import { responderKeys, usePreKey } from './device-keys.js'
import type { DeviceState } from './device-state.js'
import { equalBytes } from './primitives.js'
import { confirmAnnounced, decryptFrom, encryptFor, startSession } from './session-cipher.js'

/** Fetches prekey bundles from the key directory (op 41). */
export type FetchBundles = (user: string, except: string[]) => Promise<{ bundles: Bundle[], devices: string[] }>

/** A device's address: `<user>/<device>`. */
export const addressOf = (user: string, device: string): string => `${user}/${device}`
export const userOfAddress = (address: string): string => address.slice(0, address.indexOf('/'))
export const deviceOfAddress = (address: string): string => address.slice(address.indexOf('/') + 1)

/**
 * This device's pairwise sessions with every other device: which devices a user has (from the key
 * directory, fetched only when unknown or found stale), a session with each (X3DH from a fetched
 * bundle), and the identity keys seen, to notice when one changes.
 */
export class Pairwise {
  readonly #state: DeviceState
  readonly #self: { user: string, device: string }
  readonly #fetch: FetchBundles
  readonly #identityChanged: (address: string) => void

  constructor (state: DeviceState, self: { user: string, device: string }, fetch: FetchBundles, identityChanged: (address: string) => void) {
    this.#state = state
    this.#self = self
    this.#fetch = fetch
    this.#identityChanged = identityChanged
  }

  /**
   * The addresses of `user`'s devices with keys (this device excluded), each with a session. The key
   * directory is asked only when the list is unknown, a session is missing, or `refresh` (the broker
   * said the devices changed): then bundles come for the devices without a session, and devices gone
   * from the directory lose theirs. NO_KEYS when the user has no device with keys.
   */
  async devicesOf (user: string, refresh = false): Promise<string[]> {
    const known = this.#state.devices[user]
    if (!refresh && known !== undefined && known.every((d) => this.#state.sessions[addressOf(user, d)] !== undefined)) return known.map((d) => addressOf(user, d))
    const withSession = Object.keys(this.#state.sessions).filter((a) => userOfAddress(a) === user).map(deviceOfAddress)
    const { bundles, devices } = await this.#fetch(user, withSession)
    for (const device of withSession) if (!devices.includes(device)) delete this.#state.sessions[addressOf(user, device)]
    for (const bundle of bundles) {
      const address = addressOf(user, bundle.device)
      this.#seen(address, bundle.identityKey)
      this.#state.sessions[address] = startSession(this.#state.keys.identity, bundle)
    }
    const others = devices.filter((d) => user !== this.#self.user || d !== this.#self.device)
    this.#state.devices[user] = others
    return others.map((d) => addressOf(user, d))
  }

  /** One device's copy of `plaintext`; `announced` to call once the message holding it is stored. */
  encrypt (address: string, plaintext: Uint8Array): { bytes: Uint8Array, announced?: () => void } {
    const session = this.#state.sessions[address]
    if (session === undefined) throw new LowbandError('UNDECRYPTABLE', `no session with ${address}`)
    const { bytes, announcement } = encryptFor(session, plaintext)
    return announcement === undefined ? { bytes } : { bytes, announced: () => confirmAnnounced(session, announcement) }
  }

  /** Decrypts a copy from `address`, starting a session from a prekey message; UNDECRYPTABLE (nothing changed) otherwise. */
  decrypt (address: string, bytes: Uint8Array): Uint8Array {
    const { plaintext, session, usedPreKey } = decryptFrom(this.#state.sessions[address], bytes, responderKeys(this.#state.keys))
    this.#seen(address, session.remoteIdentity)
    this.#state.sessions[address] = session
    if (usedPreKey !== undefined) usePreKey(this.#state.keys, usedPreKey)
    // A device heard from before its user's list was refreshed: it gets copies from now on.
    const devices = this.#state.devices[userOfAddress(address)]
    if (devices !== undefined && !devices.includes(deviceOfAddress(address))) devices.push(deviceOfAddress(address))
    return plaintext
  }

  /** Forgets the session with a device (its keys changed, or it asked for a new session). */
  forget (address: string): void {
    delete this.#state.sessions[address]
  }

  /** Forgets what is known of a user's devices, so the next send asks the directory. */
  forgetDevices (user: string): void {
    delete this.#state.devices[user]
  }

  /** The identity keys of `user`'s devices this device knows (with a session). */
  identityKeys (user: string): Uint8Array[] {
    return (this.#state.devices[user] ?? []).map((d) => this.#state.identities[addressOf(user, d)]).filter((k): k is Uint8Array => k !== undefined)
  }

  /** Trust on first use: a device's identity key is remembered; a different one later is a change to warn about. */
  #seen (address: string, identityKey: Uint8Array): void {
    const known = this.#state.identities[address]
    if (known !== undefined && !equalBytes(known, identityKey)) this.#identityChanged(address)
    this.#state.identities[address] = identityKey
  }
}
