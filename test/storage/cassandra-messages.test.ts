import cassandra from 'cassandra-driver'
import { describe, it } from 'vitest'
import { SCHEMA } from '../../storage/cassandra/schema.js'
import type { Storage } from '../../storage/contracts.js'
import { cqlOptions, openCassandraMessages, withCassandraMessages } from '../../storage/cassandra/index.js'
import { openEmbeddedStorage } from '../../storage/embedded/index.js'
import { MemoryCql } from '../helpers/cql-memory.js'
import { tempDirs } from '../helpers/temp-dirs.js'
import { messageStoreContract } from './message-store.contract.js'

const contactPoints = process.env.CASSANDRA_CONTACT_POINTS ?? ''
const newDir = tempDirs('lowband-cassandra-')

// The adapter's logic against an in-memory stand-in for the server (test/helpers/cql-memory.ts):
// runs everywhere, proves the delivered/read walks and the sequences, not Cassandra itself.
messageStoreContract('Cassandra adapter on an in-memory CQL stand-in', async () => {
  const dir = await newDir()
  const cql = new MemoryCql()
  for (const step of SCHEMA) await cql.execute(step.cql, [], cqlOptions('localQuorum'))
  const open = async (): Promise<Storage> =>
    withCassandraMessages(await openEmbeddedStorage(dir), cql, cqlOptions('localQuorum'), async () => {})
  return { storage: await open(), reopen: open }
})

if (contactPoints === '') {
  describe.skip('cassandra message store: skipped, CASSANDRA_CONTACT_POINTS is unset (a live Cassandra or ScyllaDB; see docs/SCALING.md)', () => {
    it.todo('passes the message store contract against Cassandra')
  })
} else {
  // A fresh keyspace per store, created here: the adapter never creates one (its replication is the operator's).
  const localDataCenter = process.env.CASSANDRA_DATACENTER ?? 'datacenter1'
  messageStoreContract('Cassandra', async () => {
    const dir = await newDir()
    const keyspace = `lowband_test_${Date.now().toString(36)}_${Math.floor(Math.random() * 1e6)}`
    const admin = new cassandra.Client({ contactPoints: contactPoints.split(','), localDataCenter })
    await admin.execute(`CREATE KEYSPACE IF NOT EXISTS ${keyspace} WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}`)
    await admin.shutdown()
    const options = { contactPoints: contactPoints.split(','), keyspace, localDataCenter, consistency: 'localQuorum' as const }
    const open = async (): Promise<Storage> => await openCassandraMessages(await openEmbeddedStorage(dir), options)
    return { storage: await open(), reopen: open }
  })
}
