import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import type { Storage } from '../../storage/contracts.js'
import { openEmbeddedStorage } from '../../storage/embedded/index.js'
import { startTestBroker, type TestBroker } from './broker.js'
import { TestDatabases } from './postgres-databases.js'

/** Redis from scripts/services.sh; cluster tests skip without it. */
export const REDIS_URL = process.env.LOWBAND_TEST_REDIS_URL
/** PostgreSQL from scripts/services.sh: the nodes share a fresh database of it, as real nodes do. */
const POSTGRES_URL = process.env.LOWBAND_TEST_POSTGRES_URL

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
 * name of their own (test files run at once on one Redis). They share one message store: a fresh
 * PostgreSQL database each node opens with `--postgres`, as real nodes do; without a test
 * PostgreSQL, one embedded store opened here and handed to every node (`--postgres` then only
 * satisfies the option check and is not connected to).
 */
export async function startCluster (nodeIds: string[], flags: Record<string, unknown> = {}): Promise<TestCluster> {
  const dir = await mkdtemp(join(tmpdir(), 'lowband-cluster-'))
  const databases = POSTGRES_URL === undefined ? undefined : new TestDatabases(POSTGRES_URL)
  const postgres = databases === undefined ? 'postgres://shared-store-given-to-the-node' : await databases.create()
  const shared = databases === undefined ? await openEmbeddedStorage(join(dir, 'store')) : undefined
  const name = `test-${randomBytes(4).toString('hex')}`
  const nodes: TestBroker[] = []
  const cluster: TestCluster = {
    nodes,
    get storage () { return shared ?? nodes[0]!.storage },
    name,
    async start (nodeId, more = {}) {
      const node = await startTestBroker({ redis: REDIS_URL, nodeId, clusterName: name, postgres, ...flags, ...more },
        join(dir, nodeId), shared === undefined ? {} : { storage: shared })
      nodes.push(node)
      return node
    },
    async close () {
      await Promise.all(nodes.map((node) => node.close().catch(() => undefined)))
      await shared?.close()
      await databases?.dropAll()
      await rm(dir, { recursive: true, force: true })
    }
  }
  for (const id of nodeIds) await cluster.start(id)
  return cluster
}
