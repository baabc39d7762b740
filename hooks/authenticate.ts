import type { AuthenticateError, Client } from 'aedes'
import { parseClientId } from '../protocol/ids.js'
import { RetriableError } from '../storage/retriable.js'
import type { HookContext } from './context.js'
import type { UnnamedSessions } from './pre-connect.js'

const IDENTIFIER_REJECTED = 2
const BAD_USERNAME_OR_PASSWORD = 4
const NOT_AUTHORIZED = 5

function refused (returnCode: 2 | 4 | 5, message: string): AuthenticateError {
  return Object.assign(new Error(message), { returnCode })
}

/**
 * MQTT username = user id, password = a JWT whose `sub` is that user; the client id must be
 * `<userId>/<deviceId>`. The token never reaches a log line.
 */
export function createAuthenticate (ctx: HookContext, unnamed: UnnamedSessions) {
  return (client: Client, username: string | undefined, password: Buffer | undefined,
    done: (error: AuthenticateError | null, success: boolean | null) => void): void => {
    const refuse = (returnCode: 2 | 4 | 5, reason: string): void => {
      ctx.metrics.authFailed(reason)
      ctx.log.warn({ clientId: client.id, userId: username, reason }, 'connection refused')
      done(refused(returnCode, reason), false)
    }
    // [MQTT-3.1.3-8] (see pre-connect.ts)
    if (unnamed.has(client)) return refuse(IDENTIFIER_REJECTED, 'a zero-byte client id needs CleanSession 1')
    if (username === undefined && password === undefined) {
      // Anonymous clients only where asked for, and never in the chat namespace (see authorize-*).
      if (!ctx.config.allowAnonymous) return refuse(NOT_AUTHORIZED, 'anonymous connections are not allowed')
      // Nor under a chat device's client id: connecting would take over the device's connection
      // and session [MQTT-3.1.4-2]. The server may refuse a client id [MQTT-3.1.3-9].
      const named = parseClientId(client.id)
      if (named === undefined) return done(null, true)
      ctx.storage.directory.devicesOf(named.userId).then((devices) => {
        if (devices.includes(named.deviceId)) return refuse(IDENTIFIER_REJECTED, 'the client id of a chat device needs its token')
        done(null, true)
      }, (error: unknown) => unavailable(error))
      return
    }
    if (username === undefined || password === undefined || password.length === 0) {
      return refuse(BAD_USERNAME_OR_PASSWORD, 'missing token')
    }
    const device = parseClientId(client.id)
    if (device === undefined || device.userId !== username) {
      return refuse(NOT_AUTHORIZED, 'client id must be <userId>/<deviceId> of the user')
    }
    ctx.verifier.verify(password.toString('utf8')).then(async (claims) => {
      if (claims.userId !== username) return refuse(BAD_USERNAME_OR_PASSWORD, 'token was issued to another user')
      if (claims.deviceId !== undefined && claims.deviceId !== device.deviceId) {
        return refuse(NOT_AUTHORIZED, 'token was issued to another device')
      }
      await ctx.storage.directory.registerUser(username)
      await ctx.storage.directory.registerDevice(username, device.deviceId)
      ctx.identities.set(client, device)
      done(null, true)
    }, (error: unknown) => {
      const code = (error as { code?: string }).code
      refuse(BAD_USERNAME_OR_PASSWORD, code === 'ERR_JWT_EXPIRED' ? 'token expired' : 'invalid token')
    }).catch(unavailable)

    function unavailable (error: unknown): void {
      // A store that cannot answer has said why once (broker/storage.ts); reconnecting devices do not repeat it.
      if (error instanceof RetriableError) ctx.log.debug({ clientId: client.id, reason: error.message }, 'connection refused: store not ready')
      else ctx.log.error({ err: error, clientId: client.id }, 'authentication failed unexpectedly')
      done(Object.assign(new Error('server unavailable'), { returnCode: 3 }) as AuthenticateError, false)
    }
  }
}
