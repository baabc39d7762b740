import type { Client } from 'aedes'
import { Bundle, FetchBundlesArgs, FetchBundlesResult, PREKEYS_LOW, PreKeysLow, PublishKeysArgs, PublishKeysResult } from '../../protocol/e2e.js'
import { KEY_EVENT, KIND, SystemEvent } from '../../protocol/envelopes.js'
import { LowbandError } from '../../protocol/errors.js'
import type { DeviceId, UserId } from '../../protocol/ids.js'
import { OP } from '../../protocol/requests.js'
import { keysTopic } from '../../protocol/topics.js'
import { publish, publishTo, type HookContext, type Identity } from '../context.js'
import { fanOut, holdersByPresence, pushFallback } from '../fan-out.js'
import { BROKER_DEVICE } from '../system-kind.js'

type Handler = (ctx: HookContext, identity: Identity, args: unknown) => Promise<unknown>

/**
 * The key directory's requests (ops 40–49): a device publishes its public keys; anyone fetches a
 * user's prekey bundles. The broker stores and hands out public keys only and never checks a
 * signature: the SDK verifies what it fetches (a forged bundle fails there, not here).
 */
export const keyHandlers: ReadonlyArray<[number, Handler]> = [
  [OP.publishKeys, async (ctx, identity, args) => {
    const { identityKey, signedPreKeyId, signedPreKey, signature, preKeys = [] } = PublishKeysArgs.fromCbor(args)
    // One id, one key: the store keeps one of two keys published under an id, and whoever fetches
    // it would run X3DH against a key whose private half the device may not have kept.
    if (new Set(preKeys.map(([id]) => id)).size !== preKeys.length) throw new LowbandError('BAD_KEYS', 'a one-time prekey id twice')
    const record = { device: identity.deviceId, identityKey, signedPreKeyId, signedPreKey, signature }
    const stored = await ctx.storage.directory.publishDeviceKeys(identity.userId, record, preKeys.map(([id, key]) => ({ id, key })))
    if (stored.identityChanged) await announceKeyChange(ctx, identity)
    return PublishKeysResult.toCbor({ preKeys: stored.preKeys })
  }],
  [OP.fetchBundles, async (ctx, identity, args) => {
    const { user, except = [] } = FetchBundlesArgs.fromCbor(args)
    if (!await ctx.storage.directory.hasUser(user)) throw new LowbandError('UNKNOWN_RECIPIENT', user)
    const devices = (await ctx.storage.directory.deviceKeys(user)).map((k) => k.device)
    if (devices.length === 0) throw new LowbandError('NO_KEYS', user)
    // A device never fetches its own bundle: it would burn one of its own one-time prekeys.
    const skip = user === identity.userId ? [...except, identity.deviceId] : except
    const bundles = await ctx.storage.directory.takeBundles(user, skip)
    await ctx.storage.directory.addKeyWatcher(user, identity.userId)
    for (const bundle of bundles) if (bundle.remaining < PREKEYS_LOW) void tellPreKeysLow(ctx, user, bundle.device, bundle.remaining)
    return FetchBundlesResult.toCbor({
      devices,
      bundles: bundles.map((b) => Bundle.toCbor({
        device: b.device, identityKey: b.identityKey, signedPreKeyId: b.signedPreKeyId, signedPreKey: b.signedPreKey, signature: b.signature,
        ...(b.preKey === undefined ? {} : { preKeyId: b.preKey.id, preKey: b.preKey.key })
      }))
    })
  }]
]

/**
 * Tells the user's devices (QoS 0 on `u/<user>/k`) that `device` is running out of one-time
 * prekeys; that device publishes more. A device that was offline hears it on its next resume.
 */
export async function tellPreKeysLow (ctx: HookContext, user: UserId, device: DeviceId, remaining: number): Promise<void> {
  try {
    await publish(ctx, { topic: keysTopic(user), payload: Buffer.from(PreKeysLow.encode({ device, preKeys: remaining })), qos: 0, retain: false })
  } catch (error) {
    ctx.log.debug({ err: error, user, device }, 'prekeys-low notice not sent')
  }
}

/**
 * A device registered a new identity key: everyone who fetched this user's keys (its own other
 * devices included) gets a "security code changed" system message in their conversation with the
 * user, stamped by the broker (invariant 11), stored and delivered like any message.
 */
async function announceKeyChange (ctx: HookContext, actor: Identity): Promise<void> {
  const body = SystemEvent.encode({ event: KEY_EVENT.keyChanged, actor: actor.userId, targets: [actor.deviceId] })
  for (const watcher of await ctx.storage.directory.keyWatchers(actor.userId)) {
    const stored = await ctx.storage.messages.appendDirect({
      from: actor.userId,
      // The broker's mark: what makes it go out as a system message (system-kind.ts).
      fromDevice: BROKER_DEVICE,
      to: watcher,
      body,
      kind: KIND.system,
      ts: Math.floor(ctx.now() / 1000),
      clientMsgId: globalThis.crypto.getRandomValues(new Uint8Array(8))
    })
    const seqs = { [stored.message.from]: stored.senderSeq, [stored.message.to]: stored.recipientSeq }
    const { online, offline } = holdersByPresence(ctx, stored.message, seqs)
    ctx.inFlight.track(fanOut(ctx, stored.message, seqs, online)).then(() => pushFallback(ctx, stored.message, seqs, offline), (error: unknown) => {
      ctx.log.error({ err: error, user: actor.userId }, 'key-change fan-out failed')
    })
  }
}

/** After a device's resume: if it has keys and is running out of one-time prekeys, it hears so now. */
export async function checkPreKeys (ctx: HookContext, client: Client, identity: Identity): Promise<void> {
  const remaining = await ctx.storage.directory.preKeyCount(identity.userId, identity.deviceId)
  if (remaining >= PREKEYS_LOW) return
  if (!(await ctx.storage.directory.deviceKeys(identity.userId)).some((k) => k.device === identity.deviceId)) return
  await publishTo(ctx, client, { topic: keysTopic(identity.userId), payload: Buffer.from(PreKeysLow.encode({ device: identity.deviceId, preKeys: remaining })), qos: 0, retain: false })
}
