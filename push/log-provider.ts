import type { Logger } from 'pino'
import type { PushMessage, PushOutcome, PushProvider } from './contracts.js'

/**
 * For development, when no FCM service account is configured: every push that FCM would get is
 * logged at debug level (with the token shortened) and counted as sent.
 */
export function createLogProvider (log: Logger): PushProvider {
  return {
    name: 'log',
    send (push: PushMessage): Promise<PushOutcome> {
      log.debug({ push: { ...push, token: `…${push.token.slice(-8)}` } }, 'push (no --fcm-service-account: logged, not sent)')
      return Promise.resolve({ kind: 'sent' })
    },
    close: () => Promise.resolve()
  }
}
