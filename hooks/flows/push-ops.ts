import { LowbandError } from '../../protocol/errors.js'
import { OP, PUSH_PLATFORMS, PUSH_TOKEN_PATTERN, PushTokenInfo, RegisterPushArgs } from '../../protocol/requests.js'
import type { HookContext, Identity } from '../context.js'

type Handler = (ctx: HookContext, device: Identity, args: unknown) => Promise<unknown>

/**
 * Push tokens over request/response. A device registers and unregisters only its own token: the
 * device is the authenticated connection's, never an argument, so no user can attach a token to
 * another user's device.
 */
export const pushHandlers = new Map<number, Handler>([
  [OP.registerPush, async (ctx, device, args) => {
    const { token, platform } = RegisterPushArgs.fromCbor(args)
    if (!PUSH_TOKEN_PATTERN.test(token)) throw new LowbandError('PUSH_TOKEN_INVALID')
    await ctx.storage.directory.registerPushToken(device.userId, device.deviceId, token, PUSH_PLATFORMS[platform])
    ctx.push.tokensChanged(device.userId)
    return undefined
  }],
  [OP.unregisterPush, async (ctx, device) => {
    await ctx.storage.directory.unregisterPushToken(device.userId, device.deviceId)
    ctx.push.tokensChanged(device.userId)
    return undefined
  }],
  [OP.listPush, async (ctx, device) => {
    const tokens = await ctx.storage.directory.pushTokensOf(device.userId)
    return tokens.map(({ deviceId, token, platform }) => PushTokenInfo.toCbor({ device: deviceId, token, platform: PUSH_PLATFORMS.indexOf(platform) as 0 | 1 | 2 }))
  }]
])
