import { getPriority, setPriority } from 'node:os'
import { parentPort, workerData } from 'node:worker_threads'
import type { PushOutcome, PushProvider } from './contracts.js'
import { PUSH_WORKER_NICENESS, type ProviderSpec, type WorkerReply, type WorkerRequest } from './worker-provider.js'

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

/** Outcomes not yet sent back: those that finish in one turn of this loop go back in one message. */
let outcomes: Array<{ id: number, outcome: PushOutcome }> = []
const answer = (id: number, outcome: PushOutcome): void => {
  if (outcomes.length === 0) {
    setImmediate(() => {
      reply({ outcomes })
      outcomes = []
    })
  }
  outcomes.push({ id, outcome })
}

port.on('message', (request: WorkerRequest) => {
  if ('close' in request) {
    void provider.close().finally(() => port.close())
    return
  }
  for (const { id, message } of request.sends) {
    provider.send(message).then(
      (outcome) => answer(id, outcome),
      (error: unknown) => answer(id, { kind: 'retry', reason: error instanceof Error ? error.message : String(error) }))
  }
})
