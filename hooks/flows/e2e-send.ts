import { decodeEncryptedBody, decodeRetryRequest, isEncryptedKind, type Copies } from '../../protocol/e2e.js'
import { KIND, type SendRequest } from '../../protocol/envelopes.js'
import { LowbandError } from '../../protocol/errors.js'
import type { HookContext, Identity } from '../context.js'
import { groupOfMember } from '../groups.js'

/** Kinds a `--require-e2e` broker still takes in plaintext: they carry no content (a retry request names a message). */
const CONTENT_FREE = new Set<number>([KIND.retryRequest])

/**
 * The send flow's end-to-end step. With `--require-e2e`, a plaintext chat body is refused
 * (E2E_REQUIRED). An encrypted body must be addressed to the right devices, checked against the key
 * directory without reading a ciphertext, as Signal's server checks its device lists:
 *
 * - a 1:1 message (kind 3) holds exactly one copy per device with keys of the recipient, and of the
 *   sender except the sending device; otherwise DEVICES_CHANGED tells the sender which devices it
 *   misses or has too many, and it fetches keys and sends again (nothing is stored);
 * - a resend (kind 6) is addressed to some of those devices only;
 * - a group message (kind 4) carries the one shared ciphertext, and copies (sender-key
 *   distributions) only for members' devices with keys.
 */
export function checkEncryption (ctx: HookContext, sender: Identity, request: SendRequest): Promise<void> | undefined {
  const kind = request.kind ?? KIND.text
  if (isEncryptedKind(kind)) return checkCopies(ctx, sender, request, kind)
  // Content-free only if it is what it says: any other body under kind 5 would be plaintext
  // slipping past --require-e2e, and is no retry request anyway.
  if (kind === KIND.retryRequest) decodeRetryRequest(request.body)
  // A plaintext send costs the hot path nothing more than this test.
  if (ctx.config.requireE2e === true && !CONTENT_FREE.has(kind)) throw new LowbandError('E2E_REQUIRED', `kind ${kind} in plaintext`)
  return undefined
}

async function checkCopies (ctx: HookContext, sender: Identity, request: SendRequest, kind: number): Promise<void> {
  const body = decodeEncryptedBody(request.body)
  if (kind === KIND.encryptedGroup) {
    if (request.group === undefined || body.shared === undefined) throw new LowbandError('BAD_KEYS', 'a group message has a group and a shared ciphertext')
    const group = await groupOfMember(ctx, request.group, sender.userId)
    const devices = await devicesWithKeys(ctx, group.members, sender)
    return checkAddressed(body.copies, devices, 'subset')
  }
  if (request.to === undefined) throw new LowbandError('BAD_KEYS', `kind ${kind} is sent to a user`)
  const devices = await devicesWithKeys(ctx, [...new Set([request.to, sender.userId])], sender)
  if (![...devices].some((d) => d.startsWith(`${request.to!}/`)) && request.to !== sender.userId) throw new LowbandError('NO_KEYS', request.to)
  return checkAddressed(body.copies, devices, kind === KIND.encrypted ? 'all' : 'some')
}

/** `<user>/<device>` of every device with keys of these users, the sending device left out. */
async function devicesWithKeys (ctx: HookContext, users: string[], sender: Identity): Promise<Set<string>> {
  const devices = new Set<string>()
  for (const user of users) {
    for (const { device } of await ctx.storage.directory.deviceKeys(user)) {
      if (user !== sender.userId || device !== sender.deviceId) devices.add(`${user}/${device}`)
    }
  }
  return devices
}

/** `all` the devices (a 1:1 message), `some` of them (a resend), or a `subset`, possibly none (a group's key distributions). */
function checkAddressed (copies: Copies, devices: Set<string>, expect: 'all' | 'some' | 'subset'): void {
  const addressed = new Set<string>()
  for (const [user, perDevice] of copies) for (const device of perDevice.keys()) addressed.add(`${user}/${device}`)
  const extra = [...addressed].filter((d) => !devices.has(d))
  const missing = expect === 'all' ? [...devices].filter((d) => !addressed.has(d)) : []
  if (extra.length > 0 || missing.length > 0) {
    throw new LowbandError('DEVICES_CHANGED', [missing.length > 0 ? `missing ${missing.join(' ')}` : '', extra.length > 0 ? `extra ${extra.join(' ')}` : ''].filter((s) => s !== '').join('; '))
  }
  if (addressed.size === 0 && expect === 'some') throw new LowbandError('BAD_KEYS', 'a resend addressed to no device')
}
