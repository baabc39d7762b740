import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import type { Storage } from '../../storage/contracts.js'
import { openEmbeddedStorage } from '../../storage/embedded/index.js'
import { startTestBroker, type TestBroker } from './broker.js'

/** Redis from scripts/services.sh; cluster tests skip without it. */
export const REDIS_URL = process.env.LOWBAND_TEST_REDIS_URL

export interface TestCluster {
  nodes: TestBroker[]
  /** Every node's store: one store shared by all, as a cluster's nodes share PostgreSQL. */
  storage: Storage
  name: string
  /** Starts one more node of the cluster (or restarts one by its id). */
  start (nodeId: string, flags?: Record<string, unknown>): Promise<TestBroker>
  close (): Promise<void>
}

/**
 * Cluster nodes in this process on ephemeral ports, joined through the test Redis under a cluster
 * name of their own (test files run at once on one Redis). They share one message store, opened
 * here and handed to every node — what PostgreSQL is to real nodes; `--postgres` only satisfies
 * the option check (--redis needs a shared store) and is not connected to.
 */
export async function startCluster (nodeIds: string[], flags: Record<string, unknown> = {}): Promise<TestCluster> {
  const dir = await mkdtemp(join(tmpdir(), 'lowband-cluster-'))
  const storage = await openEmbeddedStorage(join(dir, 'store'))
  const name = `test-${randomBytes(4).toString('hex')}`
  const nodes: TestBroker[] = []
  const cluster: TestCluster = {
    nodes,
    storage,
    name,
    async start (nodeId, more = {}) {
      const node = await startTestBroker({ redis: REDIS_URL, nodeId, clusterName: name, postgres: 'postgres://shared-store-given-to-the-node', ...flags, ...more },
        join(dir, nodeId), { storage })
      nodes.push(node)
      return node
    },
    async close () {
      await Promise.all(nodes.map((node) => node.close().catch(() => undefined)))
      await storage.close()
      await rm(dir, { recursive: true, force: true })
    }
  }
  for (const id of nodeIds) await cluster.start(id)
  return cluster
}
