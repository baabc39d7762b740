import { createPrivateKey } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import type { Logger } from 'pino'
import { createLogProvider, createPushFallback, NO_PUSH, type PushFallback, type PushMetrics, type PushProvider } from '../push/index.js'
import { createWorkerProvider } from '../push/worker-provider.js'
import type { Directory } from '../storage/contracts.js'
import { ConfigError } from './config-error.js'
import type { Config } from './config.js'

/** Sends to FCM in flight at once: ~50-100 ms each, so several hundred pushes a second. */
const FCM_CONCURRENCY = 32

/** A provider given by the embedding code (tests, the bench), or 'off' for no push at all. */
export type PushChoice = PushProvider | 'off'

const OPTION = '--fcm-service-account (LOWBAND_FCM_SERVICE_ACCOUNT)'

/**
 * The push service the configuration asks for: FCM with --fcm-service-account, run in a worker
 * thread (push/worker-provider.ts) so sending never takes the broker's event loop; otherwise the
 * log provider (pushes logged at debug level, nothing sent). A service-account file that cannot be
 * read or is not one is a ConfigError naming the option. Runs before storage opens, so a bad file
 * stops the start before anything else.
 */
export async function choosePushProvider (config: Config, log: Logger, choice?: PushChoice): Promise<PushChoice> {
  if (choice !== undefined) return choice
  if (config.fcmServiceAccount === undefined) return createLogProvider(log)
  const { json } = await loadServiceAccount(config.fcmServiceAccount)
  try {
    return await createWorkerProvider({ module: new URL('../push/fcm.js', import.meta.url).href, factory: 'fcmFromServiceAccount', options: { json, maxSockets: FCM_CONCURRENCY } })
  } catch (error) {
    throw new ConfigError(`${OPTION}: ${config.fcmServiceAccount}: ${(error as Error).message.split('\n')[0]}`)
  }
}

/**
 * The service-account file, checked here for what firebase-admin's cert() needs (project_id,
 * client_email, a private key that parses) without loading firebase-admin into the main thread.
 */
export async function loadServiceAccount (file: string): Promise<{ json: Record<string, unknown>, projectId: string }> {
  const problem = (reason: string): ConfigError => new ConfigError(`${OPTION}: ${file}: ${reason}`)
  let json: unknown
  try {
    json = JSON.parse(await readFile(file, 'utf8'))
  } catch (error) {
    throw problem(error instanceof SyntaxError ? `not JSON (${error.message})` : `cannot read it (${(error as Error).message})`)
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw problem('not a service account: a JSON object is expected')
  const account = json as Record<string, unknown>
  for (const field of ['project_id', 'client_email', 'private_key']) {
    if (typeof account[field] !== 'string' || account[field] === '') throw problem(`not a service account: no "${field}"`)
  }
  try {
    createPrivateKey(account.private_key as string)
  } catch (error) {
    throw problem(`its private_key does not parse (${(error as Error).message})`)
  }
  return { json: account, projectId: account.project_id as string }
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
