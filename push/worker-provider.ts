import { Worker } from 'node:worker_threads'
import type { PushMessage, PushOutcome, PushProvider } from './contracts.js'

/**
 * Where a worker finds the provider it runs: a module (file URL), the name of a factory it exports,
 * and the factory's options, which must survive structured cloning (no functions, no agents).
 */
export interface ProviderSpec {
  module: string
  factory: string
  options: unknown
}

/**
 * How much nicer than the broker the worker thread runs. A burst of pushes (a thousand sleeping
 * phones woken at once) costs the worker about a second of CPU in firebase-admin, HTTP and TLS; on
 * a machine whose cores are busy, at the broker's own priority it takes that second from the event
 * loop that writes PUBACKs. Pushes are hints that may wait a little; PUBACKs may not. On Linux a
 * nice value is per thread, so this lowers only the worker, and the kernel still gives it whatever
 * CPU is idle (at 10 it gets about a tenth of a core it shares with the event loop).
 */
export const PUSH_WORKER_NICENESS = 10

/** What the worker is sent: the sends of one turn of the broker's event loop, or the order to close. */
export type WorkerRequest =
  | { sends: Array<{ id: number, message: PushMessage }> }
  | { close: true }

/** What the worker says back: ready (or why not), and the outcomes of sends that finished in one turn of its loop. */
export type WorkerReply =
  | { ready: string }
  | { failed: string }
  | { outcomes: Array<{ id: number, outcome: PushOutcome }> }

/**
 * A push provider run in a worker thread. Sending a push through firebase-admin costs about a
 * millisecond of CPU (its validation, the JSON, HTTP and TLS); a burst of a thousand pushes on the
 * broker's main thread would hold up the PUBACKs around it. Here the main thread only posts the
 * small PushMessage, and the worker — which on a machine with more than one core runs beside the
 * event loop — does the rest. Messages cross in batches, one per turn of either loop each way
 * (the dispatcher starts up to its concurrency of sends in one turn): each postMessage costs a
 * copy and a wake-up of the other thread, and a burst of a thousand pushes paid two per push.
 *
 * Resolves once the worker's provider is made; rejects with its one-line reason otherwise (a bad
 * service account, for instance).
 */
export async function createWorkerProvider (spec: ProviderSpec, workerUrl: URL = new URL('./provider-worker.js', import.meta.url)): Promise<PushProvider> {
  const worker = new Worker(workerUrl, { workerData: spec })
  const pending = new Map<number, (outcome: PushOutcome) => void>()
  let nextId = 1
  let stopped: string | undefined
  const stop = (reason: string): void => {
    stopped ??= reason
    for (const resolve of pending.values()) resolve({ kind: 'retry', reason })
    pending.clear()
  }
  let onError: (error: Error) => void = () => undefined
  let onExit: (code: number) => void = () => undefined
  const name = await new Promise<string>((resolve, reject) => {
    onError = reject
    onExit = (code) => reject(new Error(`the push worker exited with code ${code} before it was ready`))
    worker.once('error', onError)
    worker.once('exit', onExit)
    worker.once('message', (reply: WorkerReply) => {
      if ('ready' in reply) resolve(reply.ready)
      else reject(new Error('failed' in reply ? reply.failed : 'the push worker answered before it was ready'))
    })
  }).catch(async (error: unknown) => {
    await worker.terminate()
    throw error
  })
  // Only our own listeners go: Worker keeps internal ones (removeAllListeners would stop its messages).
  worker.off('error', onError)
  worker.off('exit', onExit)
  worker.on('message', (reply: WorkerReply) => {
    if (!('outcomes' in reply)) return
    for (const { id, outcome } of reply.outcomes) {
      pending.get(id)?.(outcome)
      pending.delete(id)
    }
  })
  let outbox: Array<{ id: number, message: PushMessage }> = []
  const post = (request: WorkerRequest): void => worker.postMessage(request)
  const flush = (): void => {
    const sends = outbox
    outbox = []
    if (stopped === undefined) post({ sends })
  }
  worker.on('error', (error) => stop(`push worker failed: ${error.message}`))
  worker.on('exit', (code) => stop(`push worker exited with code ${code}`))
  return {
    name,
    send (message: PushMessage): Promise<PushOutcome> {
      if (stopped !== undefined) return Promise.resolve({ kind: 'retry', reason: stopped })
      const id = nextId++
      return new Promise((resolve) => {
        pending.set(id, resolve)
        // The first send of this turn posts them all, once the code that sends them is done.
        if (outbox.length === 0) queueMicrotask(flush)
        outbox.push({ id, message })
      })
    },
    async close () {
      stop('push provider closed')
      post({ close: true })
      // The provider closes its app and connections; a send hanging on a silent FCM must not hold the stop.
      const timer = setTimeout(() => { void worker.terminate() }, 2000)
      await new Promise((resolve) => worker.once('exit', resolve))
      clearTimeout(timer)
    }
  }
}
