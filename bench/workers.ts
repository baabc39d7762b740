import { fileURLToPath } from 'node:url'
import { spawnLimited, type Spawned } from './proc.js'

type WorkerScript = 'load-generator' | 'idle-clients' | 'abuse-attacker' | 'fcm-stand-in'

/**
 * Workers that stand for machines elsewhere on the network: an attacker's hosts, Google's FCM
 * servers. In a deployment their CPU is not the broker's; on this one machine it would be taken
 * from the broker and from the clients whose latency is measured, so they run at the lowest
 * priority: they get every cycle nothing else wants. What they cost the broker (its accepts, its
 * refusals, its TLS, the kernel's loopback work for the broker's side) still counts. The load
 * generators and idle clients stand for users and are timed, so they keep the broker's priority.
 */
const REMOTE: ReadonlySet<WorkerScript> = new Set(['abuse-attacker', 'fcm-stand-in'])
const REMOTE_NICENESS = 19

/** Starts one of the bench's worker scripts (load generator, idle clients, abuse attacker, FCM stand-in) as a child with an IPC channel. */
export function startWorker (script: WorkerScript, nodeFlags: readonly string[] = []): Spawned {
  const file = fileURLToPath(new URL(`./${script}.js`, import.meta.url))
  return spawnLimited(process.execPath, [...nodeFlags, file], { ipc: true, niceness: REMOTE.has(script) ? REMOTE_NICENESS : 0 })
}

/** Ends a worker by closing its IPC channel (it exits on disconnect), killing it if it lingers. */
export async function stopWorker (worker: Spawned): Promise<void> {
  if (worker.child.connected) worker.child.disconnect()
  const timer = setTimeout(() => worker.child.kill('SIGKILL'), 10_000)
  await worker.exited
  clearTimeout(timer)
}
