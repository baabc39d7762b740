import { fileURLToPath } from 'node:url'
import { spawnLimited, type Spawned } from './proc.js'

/** Starts one of the bench's worker scripts (load generator, idle clients, abuse attacker, FCM stand-in) as a child with an IPC channel. */
export function startWorker (script: 'load-generator' | 'idle-clients' | 'abuse-attacker' | 'fcm-stand-in', nodeFlags: readonly string[] = []): Spawned {
  const file = fileURLToPath(new URL(`./${script}.js`, import.meta.url))
  return spawnLimited(process.execPath, [...nodeFlags, file], { ipc: true })
}

/** Ends a worker by closing its IPC channel (it exits on disconnect), killing it if it lingers. */
export async function stopWorker (worker: Spawned): Promise<void> {
  if (worker.child.connected) worker.child.disconnect()
  const timer = setTimeout(() => worker.child.kill('SIGKILL'), 10_000)
  await worker.exited
  clearTimeout(timer)
}
