import { randomBytes } from 'node:crypto'
import pg from 'pg'

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
