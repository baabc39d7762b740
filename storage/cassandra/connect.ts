import cassandra from 'cassandra-driver'
import type { ConsistencyLevel, CqlClient, CqlOptions } from './cql-client.js'
import { SCHEMA } from './schema.js'

export interface CassandraOptions {
  contactPoints: string[]
  keyspace: string
  /** The driver's load balancing needs the local datacenter's name ('datacenter1' is Cassandra's default). */
  localDataCenter: string
  consistency: ConsistencyLevel
}

/** The statement options for a consistency level; LWT's Paxos phase at SERIAL (every datacenter's quorum). */
export function cqlOptions (consistency: ConsistencyLevel): CqlOptions {
  return { prepare: true, consistency: cassandra.types.consistencies[consistency], serialConsistency: cassandra.types.consistencies.serial }
}

/**
 * Connects to the cluster and creates the message store's tables in the given keyspace (which the
 * operator creates with the replication they want). Rejects when no contact point answers.
 */
export async function connectCassandra (options: CassandraOptions): Promise<{ client: CqlClient, options: CqlOptions, close (): Promise<void> }> {
  const client = new cassandra.Client({ contactPoints: options.contactPoints, localDataCenter: options.localDataCenter, keyspace: options.keyspace })
  await client.connect()
  const statementOptions = cqlOptions(options.consistency)
  try {
    // Every node runs these at start: IF NOT EXISTS makes that idempotent, and the driver waits
    // for schema agreement after each one.
    for (const step of SCHEMA) await client.execute(step.cql, [], { consistency: statementOptions.consistency })
  } catch (error) {
    await client.shutdown()
    throw error
  }
  return { client, options: statementOptions, close: () => client.shutdown() }
}
