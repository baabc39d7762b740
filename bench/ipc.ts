import type { ChildProcess } from 'node:child_process'

/**
 * Parent ↔ worker messages over Node's IPC channel. Every request names the reply it expects, so a
 * worker's answers cannot be mistaken for one another.
 */
export interface WorkerMessage { type: string }

/** Sends `message` and resolves with the worker's next message of type `replyType`; a worker error rejects. */
export function ask<R extends WorkerMessage, M extends WorkerMessage = WorkerMessage> (child: ChildProcess, message: M, replyType: R['type'], timeoutMs = 600_000): Promise<R> {
  return new Promise((resolve, reject) => {
    const onMessage = (reply: WorkerMessage & { error?: string }): void => {
      if (reply.type === 'error') { finish(); reject(new Error(`worker: ${reply.error ?? 'failed'}`)); return }
      if (reply.type !== replyType) return
      finish()
      resolve(reply as R)
    }
    const onExit = (code: number | null): void => { finish(); reject(new Error(`worker exited with ${code}`)) }
    const timer = setTimeout(() => { finish(); reject(new Error(`worker gave no ${replyType} within ${timeoutMs} ms`)) }, timeoutMs)
    const finish = (): void => {
      clearTimeout(timer)
      child.off('message', onMessage)
      child.off('exit', onExit)
    }
    child.on('message', onMessage)
    child.once('exit', onExit)
    child.send(message)
  })
}

/** In a worker: answers each parent message with `handle`'s result, or an `error` message. */
export function serve (handle: (message: WorkerMessage) => Promise<WorkerMessage | undefined>): void {
  process.on('message', (message: WorkerMessage) => {
    handle(message).then((reply) => { if (reply !== undefined) process.send?.(reply) },
      (error: unknown) => process.send?.({ type: 'error', error: error instanceof Error ? error.stack ?? error.message : String(error) }))
  })
  // The parent going away (even killed) must not leave workers holding sockets.
  process.on('disconnect', () => process.exit(0))
}
