import { randomBytes } from 'node:crypto'
import pg from 'pg'
import { afterAll, describe, it } from 'vitest'
import type { NewDirectMessage } from '../../storage/contracts.js'

/** A fresh database per test on the test server, so tests share nothing and run in any order. */
export class TestDatabases {
  readonly #serverUrl: string
  readonly #names: string[] = []

  constructor (serverUrl: string) {
    this.#serverUrl = serverUrl
  }

  /** Creates an empty database and returns its URL. */
  async create (): Promise<string> {
    // Identifiers cannot be query parameters; the name is ours, hex only, so it needs no quoting.
    const name = `lb_test_${randomBytes(6).toString('hex')}`
    await this.#admin(`CREATE DATABASE ${name}`)
    this.#names.push(name)
    const url = new URL(this.#serverUrl)
    url.pathname = `/${name}`
    return url.toString()
  }

  async dropAll (): Promise<void> {
    // FORCE ends connections a failed test left open, so the drop cannot hang on them.
    // In parallel: each drop waits on a checkpoint, about a second on a loaded machine.
    await Promise.all(this.#names.splice(0).map((name) => this.#admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)))
  }

  async #admin (sql: string): Promise<void> {
    const client = new pg.Client({ connectionString: this.#serverUrl })
    await client.connect()
    try {
      await client.query(sql)
    } finally {
      await client.end()
    }
  }
}

/**
 * A test file's PostgreSQL suites: `body` gets the test server's URL and a TestDatabases on it
 * (every database it made dropped after the file), or, when `npm test`'s server is not there, one
 * skipped suite says why.
 */
export function withTestPostgres (suite: string, body: (databases: TestDatabases, serverUrl: string) => void): void {
  const serverUrl = process.env.LOWBAND_TEST_POSTGRES_URL
  if (serverUrl === undefined || serverUrl === '') {
    describe.skip(`${suite}: skipped, LOWBAND_TEST_POSTGRES_URL is unset (npm test starts a server; by hand: source scripts/services.sh && services_up)`, () => {
      it.todo('runs against PostgreSQL')
    })
    return
  }
  const databases = new TestDatabases(serverUrl)
  afterAll(() => databases.dropAll(), 120_000)
  body(databases, serverUrl)
}

/** A 1:1 message from alice's phone to bob, with `over` changed. */
export const draft = (over: Partial<NewDirectMessage> = {}): NewDirectMessage => ({
  from: 'alice', fromDevice: 'phone', to: 'bob', body: 'hi', kind: 0, ts: 1_700_000_000, clientMsgId: 'c1', ...over
})
