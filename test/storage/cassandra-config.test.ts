import { createServer } from 'node:net'
import { pino } from 'pino'
import { describe, expect, it } from 'vitest'
import { ConfigError } from '../../broker/config-error.js'
import { loadConfig } from '../../broker/config.js'
import { openStorage } from '../../broker/storage.js'
import { tempDirs } from '../helpers/temp-dirs.js'

const newDir = tempDirs('lowband-cassandra-config-')

describe('cassandra message store: selection', () => {
  it('takes --cassandra hosts with --cassandra-keyspace, LOCAL_QUORUM and datacenter1 by default', () => {
    const config = loadConfig({ cassandra: 'db1.example, db2.example:9043', cassandraKeyspace: 'chat' }, {})
    expect(config).toMatchObject({ cassandra: ['db1.example', 'db2.example:9043'], cassandraKeyspace: 'chat', cassandraDatacenter: 'datacenter1', cassandraConsistency: 'localQuorum' })
    expect(loadConfig({}, { LOWBAND_CASSANDRA: '10.0.0.1', LOWBAND_CASSANDRA_KEYSPACE: 'k', LOWBAND_CASSANDRA_CONSISTENCY: 'one' }, ).cassandraConsistency).toBe('one')
    expect(loadConfig({}, {}).cassandra).toBeUndefined()
  })

  it('refuses one of --cassandra and --cassandra-keyspace without the other, a bad keyspace, host or consistency', () => {
    expect(() => loadConfig({ cassandra: 'db1' }, {})).toThrow(/--cassandra \(LOWBAND_CASSANDRA\) and --cassandra-keyspace .* go together/)
    expect(() => loadConfig({ cassandraKeyspace: 'chat' }, {})).toThrow(ConfigError)
    expect(() => loadConfig({ cassandra: 'db1', cassandraKeyspace: 'chat; DROP' }, {})).toThrow(/--cassandra-keyspace/)
    expect(() => loadConfig({ cassandra: 'db1/x', cassandraKeyspace: 'chat' }, {})).toThrow(/--cassandra /)
    expect(() => loadConfig({ cassandra: 'db1', cassandraKeyspace: 'chat', cassandraConsistency: 'serial' }, {})).toThrow(/--cassandra-consistency/)
  })

  it('reports a Cassandra that cannot be reached as a one-line ConfigError, and closes the directory store it opened', async () => {
    // A port that was free a moment ago: connection refused, at once.
    const server = createServer()
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const port = (server.address() as { port: number }).port
    await new Promise((resolve) => server.close(resolve))
    const dataDir = await newDir()
    const config = loadConfig({ dataDir, cassandra: `127.0.0.1:${port}`, cassandraKeyspace: 'chat' }, {})
    await expect(openStorage(config, pino({ level: 'silent' }))).rejects.toThrow(/^--cassandra \(LOWBAND_CASSANDRA\): cannot open the message store in keyspace chat: /)
    // The embedded store was closed (its pid file removed): it opens again.
    const again = await openStorage(loadConfig({ dataDir }, {}), pino({ level: 'silent' }))
    await again.close()
  })
})
