/**
 * Last-resort teardown. Links close themselves through close(); this registry
 * covers the paths where that never runs: process exit with links still open,
 * an uncaught exception, Ctrl-C, SIGTERM/SIGHUP. Handlers are installed only
 * while something is registered, so a process without open links keeps
 * Node's default signal behaviour.
 */

type SyncCleanup = () => void

const pending = new Set<SyncCleanup>()
const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const

function runAll(): void {
  for (const cleanup of [...pending]) {
    pending.delete(cleanup)
    try {
      cleanup()
    } catch {
      // Keep going: every registered resource deserves its attempt.
    }
  }
}

/** Signals a caller has taken over for a while (see deferSignal). */
const deferred = new Set<NodeJS.Signals>()

function onSignal(signal: NodeJS.Signals): void {
  if (deferred.has(signal)) return
  runAll()
  uninstall()
  // Nobody else listens: behave as if we had not intercepted the signal.
  if (process.listenerCount(signal) === 0) process.kill(process.pid, signal)
}

let installed = false

function install(): void {
  if (installed) return
  installed = true
  process.on('exit', runAll)
  for (const s of SIGNALS) process.on(s, onSignal)
}

function uninstall(): void {
  if (!installed) return
  installed = false
  process.off('exit', runAll)
  for (const s of SIGNALS) process.off(s, onSignal)
}

/** Registers a synchronous cleanup; call the returned function once the resource is released normally. */
export function registerCleanup(cleanup: SyncCleanup): () => void {
  pending.add(cleanup)
  install()
  return () => {
    pending.delete(cleanup)
    if (pending.size === 0) uninstall()
  }
}

/**
 * While `during` runs, `signal` no longer tears links down and no longer ends
 * the process: the caller decides. `lowband netem exec` uses it for SIGINT so
 * Ctrl-C reaches the command under test (an interactive shell survives it) and
 * the link closes in order once that command exits.
 */
export async function deferSignal<T>(signal: NodeJS.Signals, during: () => Promise<T>): Promise<T> {
  const keepAlive = (): void => undefined
  deferred.add(signal)
  process.on(signal, keepAlive)
  try {
    return await during()
  } finally {
    process.off(signal, keepAlive)
    deferred.delete(signal)
  }
}
