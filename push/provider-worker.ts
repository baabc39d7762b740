import { getPriority, setPriority } from 'node:os'
import { parentPort, workerData } from 'node:worker_threads'
import type { PushMessage, PushProvider } from './contracts.js'
import { PUSH_WORKER_NICENESS, type ProviderSpec, type WorkerReply } from './worker-provider.js'

/** The worker side of worker-provider.ts: makes the provider the spec names, then sends what it is given. */
const spec = workerData as ProviderSpec

// Below the event loop that writes PUBACKs (see PUSH_WORKER_NICENESS); where that is refused, as it is.
try {
  setPriority(Math.min(19, getPriority() + PUSH_WORKER_NICENESS))
} catch {
  // Not permitted or not supported here: sending works the same, only without the lower priority.
}
const port = parentPort!
const reply = (message: WorkerReply): void => port.postMessage(message)

let provider: PushProvider
try {
  const module = await import(spec.module) as Record<string, (options: unknown) => PushProvider | Promise<PushProvider>>
  const factory = module[spec.factory]
  if (typeof factory !== 'function') throw new Error(`${spec.module} exports no ${spec.factory}`)
  provider = await factory(spec.options)
  reply({ ready: provider.name })
} catch (error) {
  reply({ failed: error instanceof Error ? error.message : String(error) })
  process.exit(1)
}

port.on('message', (message: { id: number, message: PushMessage } | { close: true }) => {
  if ('close' in message) {
    void provider.close().finally(() => port.close())
    return
  }
  provider.send(message.message).then(
    (outcome) => reply({ id: message.id, outcome }),
    (error: unknown) => reply({ id: message.id, outcome: { kind: 'retry', reason: error instanceof Error ? error.message : String(error) } }))
})
