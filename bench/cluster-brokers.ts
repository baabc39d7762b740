import type { BrokerHandle } from './brokers.js'
import { startLowband } from './brokers.js'
import { PrivatePostgres } from './private-postgres.js'
import { PrivateRedis } from './private-redis.js'

/** Where the recipients of a cluster run connect: the senders' node, or another one (every delivery crosses nodes). */
export type Placement = 'same-node' | 'cross-node'

/**
 * lowband as a cluster (`lowband start --postgres --redis --node-id`): `nodes` node processes on a
 * PostgreSQL server (fsync on, as in production) and a Redis of their own, all removed with it.
 * Senders connect to the first node; recipients to the last with 'cross-node', else to the first.
 * Its parts are the nodes, PostgreSQL's processes and Redis, so a step can charge each its CPU.
 */
export async function startLowbandCluster (nodes: number, placement: Placement, flags: string[] = []): Promise<BrokerHandle> {
  const postgres = await PrivatePostgres.create()
  const redis = await PrivateRedis.start().catch(async (error: unknown) => { await postgres.destroy(); throw error })
  const started: BrokerHandle[] = []
  const cleanUp = async (): Promise<void> => {
    await redis.stop()
    await postgres.destroy()
  }
  try {
    const cluster = ['--postgres', postgres.url, '--redis', redis.url, '--cluster-name', 'bench']
    // One after another: the first runs the migrations on the fresh database.
    for (let i = 0; i < nodes; i++) started.push(await startLowband(flags, [...cluster, '--node-id', `n${i}`]))
  } catch (error) {
    await Promise.all(started.map((node) => node.kill()))
    await cleanUp()
    throw error
  }
  const first = started[0]!
  const all = async (end: (node: BrokerHandle) => Promise<void>): Promise<void> => {
    try {
      await Promise.all(started.map(end))
    } finally {
      await cleanUp()
    }
  }
  return {
    ...first,
    recipientPort: placement === 'cross-node' ? started.at(-1)!.port : first.port,
    parts: () => ({ nodes: started.map((node) => node.pid), postgres: postgres.pids(), redis: [redis.pid] }),
    stop: () => all((node) => node.stop()),
    kill: () => all((node) => node.kill())
  }
}
