import { readFile } from 'node:fs/promises'
import type { Logger } from 'pino'
import type { Credential } from 'firebase-admin/app'
import { createLogProvider, createPushFallback, NO_PUSH, type PushFallback, type PushMetrics, type PushProvider } from '../push/index.js'
import type { Directory } from '../storage/contracts.js'
import { ConfigError } from './config-error.js'
import type { Config } from './config.js'

/** Sends to FCM in flight at once: ~50-100 ms each, so several hundred pushes a second. */
const FCM_CONCURRENCY = 32

/** A provider given by the embedding code (tests, the bench), or 'off' for no push at all. */
export type PushChoice = PushProvider | 'off'

/**
 * The push service the configuration asks for: FCM with --fcm-service-account, otherwise the log
 * provider (pushes logged at debug level, nothing sent). A service-account file that cannot be
 * read or is not one is a ConfigError naming the option. Runs before storage opens, so a bad file
 * stops the start before anything else.
 */
export async function choosePushProvider (config: Config, log: Logger, choice?: PushChoice): Promise<PushChoice> {
  if (choice !== undefined) return choice
  if (config.fcmServiceAccount === undefined) return createLogProvider(log)
  const account = await loadServiceAccount(config.fcmServiceAccount)
  const { createFcmProvider } = await import('../push/fcm.js')
  return createFcmProvider({ ...account, maxSockets: FCM_CONCURRENCY })
}

/** The service-account file, through firebase-admin's cert(). */
export async function loadServiceAccount (file: string): Promise<{ projectId: string, credential: Credential }> {
  const problem = (reason: string): ConfigError => new ConfigError(`--fcm-service-account (LOWBAND_FCM_SERVICE_ACCOUNT): ${file}: ${reason}`)
  let json: unknown
  try {
    json = JSON.parse(await readFile(file, 'utf8'))
  } catch (error) {
    throw problem(error instanceof SyntaxError ? `not JSON (${error.message})` : `cannot read it (${(error as Error).message})`)
  }
  // Loaded only here: a broker without FCM never pays for loading firebase-admin.
  const { serviceAccountCredential } = await import('../push/fcm.js')
  try {
    return serviceAccountCredential(json)
  } catch (error) {
    throw problem((error as Error).message)
  }
}

/** The push fallback the hooks call, over the chosen provider and the directory's tokens. */
export function openPush (config: Config, choice: PushChoice, directory: Directory, log: Logger, metrics: PushMetrics): PushFallback {
  if (choice === 'off') return NO_PUSH
  log.info({ provider: choice.name }, choice.name === 'log' ? 'push: no --fcm-service-account, pushes are logged at debug level and not sent' : 'push through FCM')
  return createPushFallback({
    graceMs: config.pushGrace * 1000,
    windowMs: config.pushWindow * 1000,
    ttlSeconds: config.pushTtl,
    priority: { direct: config.pushPriorityDirect, group: config.pushPriorityGroup },
    maxQueue: config.pushQueue,
    concurrency: FCM_CONCURRENCY
  }, {
    provider: choice,
    tokens: { tokensOf: (user) => directory.pushTokensOf(user), remove: (token) => directory.removePushToken(token) },
    log,
    metrics
  })
}
