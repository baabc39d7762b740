import type { Logger } from 'pino'
import { DEFAULT_RETRY, type RetryPolicy } from './backoff.js'
import { systemPushClock, type PushClock } from './clock.js'
import type { PushFallback, PushMetrics, PushProvider, TokenStore } from './contracts.js'
import { PushDispatcher } from './dispatcher.js'
import { DEFAULT_CALM, LoopCalm, type CalmOptions } from './loop-calm.js'
import { PushPolicy, type PolicyOptions } from './policy.js'

export type { PushFallback, PushMessage, PushMetrics, PushOutcome, PushPriority, PushProvider, StoredFor, TokenStore } from './contracts.js'
// fcm.ts is imported on its own, only where FCM is used: firebase-admin takes ~0.5 s of CPU to load.
export type { FcmOptions } from './fcm.js'
export { createLogProvider } from './log-provider.js'
export { PUSH_DATA_KEYS, PUSH_DATA_LIMIT } from './payload.js'
export type { PushClock } from './clock.js'

export interface PushOptions extends PolicyOptions {
  /** Pushes waiting to be sent or retried, at most. */
  maxQueue: number
  /** Sends in flight at once. */
  concurrency: number
  retry?: RetryPolicy
  /** When push work waits for the event loop (loop-calm.ts). */
  calm?: CalmOptions
}

export interface PushDeps {
  provider: PushProvider
  tokens: TokenStore
  log: Logger
  metrics: PushMetrics
  clock?: PushClock
  random?: () => number
}

/** The push fallback: the policy of when to push, feeding the dispatcher that sends through `provider`. */
export function createPushFallback (options: PushOptions, deps: PushDeps): PushFallback {
  const clock = deps.clock ?? systemPushClock
  const calm = new LoopCalm(options.calm ?? DEFAULT_CALM, clock)
  let policy: PushPolicy | undefined
  const dispatcher = new PushDispatcher({
    provider: deps.provider,
    clock,
    log: deps.log,
    metrics: deps.metrics,
    retry: options.retry ?? DEFAULT_RETRY,
    maxQueue: options.maxQueue,
    concurrency: options.concurrency,
    onUnregistered: (message) => { void policy?.prune(message) },
    calm,
    ...(deps.random === undefined ? {} : { random: deps.random })
  })
  const rules = policy = new PushPolicy(options, deps.tokens, dispatcher, clock, deps.log, deps.metrics, calm)
  return {
    stored: (message, connected) => rules.stored(message, connected),
    acknowledged: (user, device, seq) => rules.acknowledged(user, device, seq),
    read: (user, conversation, group, cseq) => rules.read(user, conversation, group, cseq),
    tokensChanged: (user) => rules.tokensChanged(user),
    async close () {
      await rules.close()
      dispatcher.close()
      calm.close()
      await deps.provider.close()
    }
  }
}

/** Push turned off: every call does nothing. */
export const NO_PUSH: PushFallback = Object.freeze({
  stored: () => undefined,
  acknowledged: () => undefined,
  read: () => undefined,
  tokensChanged: () => undefined,
  close: () => Promise.resolve()
})
