import { LowbandError } from '../../protocol/errors.js'
import { isValidId } from '../../protocol/ids.js'
import { ContactArgs, PRIVACY, PrivacyArgs } from '../../protocol/requests.js'
import type { Requests } from './requests.js'

/** Who may see this user's online state and last seen. */
export type PresencePrivacy = keyof typeof PRIVACY

/** Privacy and the contact list it refers to ("contacts" means the users this user added). */
export class Contacts {
  readonly #requests: Requests

  constructor (requests: Requests) {
    this.#requests = requests
  }

  async setPresencePrivacy (who: PresencePrivacy): Promise<void> {
    if (!Object.hasOwn(PRIVACY, who)) throw new LowbandError('BAD_ENVELOPE', `presence privacy: everyone, contacts or nobody, got ${JSON.stringify(who)}`)
    await this.#requests.request('setPrivacy', PrivacyArgs.toCbor({ presence: PRIVACY[who] }))
  }

  async add (user: string): Promise<void> {
    await this.#requests.request('addContact', ContactArgs.toCbor({ user: userId(user) }))
  }

  async remove (user: string): Promise<void> {
    await this.#requests.request('removeContact', ContactArgs.toCbor({ user: userId(user) }))
  }
}

function userId (user: string): string {
  if (typeof user !== 'string' || !isValidId(user)) throw new LowbandError('BAD_ENVELOPE', `user: not an id: ${JSON.stringify(user)}`)
  return user
}
