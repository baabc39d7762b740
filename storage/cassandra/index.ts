import cassandra from 'cassandra-driver'
import type { Storage } from '../contracts.js'
import { guarded } from '../guarded.js'
import { createMessageIdGenerator } from '../message-id.js'
import { RetriableError } from '../retriable.js'
import { connectCassandra, type CassandraOptions } from './connect.js'
import type { CqlClient, CqlOptions } from './cql-client.js'
import { CassandraMessageStore } from './messages.js'

export { connectCassandra, cqlOptions, type CassandraOptions } from './connect.js'
export { CONSISTENCY_LEVELS, type ConsistencyLevel } from './cql-client.js'

/**
 * `base` (which keeps the directory: PostgreSQL or the embedded store) with its messages in
 * Cassandra. A driver error (no host, timeout, unavailable replicas) is a RetriableError: nothing
 * was acknowledged, and the client resends. close() writes the delivery state not yet flushed,
 * then closes the Cassandra connection and `base`.
 */
export function withCassandraMessages (base: Storage, client: CqlClient, options: CqlOptions, closeClient: () => Promise<void>): Storage {
  const messages = new CassandraMessageStore(client, options, createMessageIdGenerator())
  return {
    messages: guarded(messages, classify),
    directory: base.directory,
    flush: () => base.flush(),
    health: () => base.health(),
    async close () {
      try {
        await messages.flushAllDelivered(Math.floor(Date.now() / 1000))
        await messages.flushDeviceCursors()
      } catch {
        // Unreachable: what was not written is recovered from resuming devices (deliveries.ts).
      } finally {
        await closeClient()
        await base.close()
      }
    }
  }
}

/** Connects (creating the tables) and moves `base`'s messages to Cassandra. */
export async function openCassandraMessages (base: Storage, options: CassandraOptions): Promise<Storage> {
  const { client, options: statementOptions, close } = await connectCassandra(options)
  return withCassandraMessages(base, client, statementOptions, close)
}

function classify (error: unknown): unknown {
  if (error instanceof cassandra.errors.DriverError) return new RetriableError(`Cassandra: ${error.message}`, { cause: error })
  return error
}
