import { LowbandError } from '../../protocol/errors.js'
import { PUSH_PLATFORMS, PUSH_TOKEN_PATTERN, PushTokenInfo, RegisterPushArgs, type PushPlatform } from '../../protocol/requests.js'
import type { Requests } from './requests.js'

export type { PushPlatform } from '../../protocol/requests.js'

/** A device of this user with its push token (listPush). */
export interface PushRegistration {
  device: string
  platform: PushPlatform
  token: string
}

/**
 * This device's push token, over request/response. The broker binds it to this device (the
 * connection's own): it replaces the device's previous token, and takes the token from any other
 * device that held it. Pushes are data only: `c` conversation, `g` "1" for a group, `q` the newest
 * cseq, `n` the unread count (docs/PROTOCOL.md, "Push").
 */
export class PushOps {
  readonly #requests: Requests

  constructor (requests: Requests) {
    this.#requests = requests
  }

  async register (token: string, platform: PushPlatform): Promise<void> {
    if (typeof token !== 'string' || !PUSH_TOKEN_PATTERN.test(token)) throw new LowbandError('PUSH_TOKEN_INVALID')
    const code = PUSH_PLATFORMS.indexOf(platform)
    if (code < 0) throw new LowbandError('BAD_ENVELOPE', `platform: android, ios or web, got ${JSON.stringify(platform)}`)
    await this.#requests.request('registerPush', RegisterPushArgs.toCbor({ token, platform: code as 0 | 1 | 2 }))
  }

  async unregister (): Promise<void> {
    await this.#requests.request('unregisterPush')
  }

  async list (): Promise<PushRegistration[]> {
    const result = await this.#requests.request('listPush')
    if (!Array.isArray(result)) throw new LowbandError('BAD_ENVELOPE', 'listPush: expected an array')
    return result.map((item: unknown) => {
      const { device, platform, token } = PushTokenInfo.fromCbor(item)
      return { device, platform: PUSH_PLATFORMS[platform], token }
    })
  }
}
