import type { CqlClient, CqlOptions, CqlRow } from '../../storage/cassandra/cql-client.js'

export interface RecordedStatement { query: string, params: unknown[], options: CqlOptions }

/** Rows for one statement, or undefined for the default (LWT applied, no rows for anything else). */
export type Script = (query: string, params: unknown[]) => CqlRow[] | undefined

/**
 * A recording fake of the cassandra-driver Client surface the message store uses: every execute
 * and every batch (with its statements) is recorded; the answer is what the test scripts.
 */
export class FakeCql implements CqlClient {
  readonly executed: RecordedStatement[] = []
  readonly batches: Array<{ queries: Array<{ query: string, params: unknown[] }>, options: CqlOptions }> = []
  script: Script

  constructor (script: Script = () => undefined) {
    this.script = script
  }

  async execute (query: string, params: unknown[], options: CqlOptions): Promise<{ rows: CqlRow[] }> {
    this.executed.push({ query: squash(query), params, options })
    const rows = this.script(squash(query), params)
    if (rows !== undefined) return { rows }
    return { rows: / IF /.test(query) ? [{ '[applied]': true }] : [] }
  }

  async batch (queries: Array<{ query: string, params: unknown[] }>, options: CqlOptions): Promise<unknown> {
    this.batches.push({ queries: queries.map(({ query, params }) => ({ query: squash(query), params })), options })
    return {}
  }

  /** The executed statements whose CQL starts with `prefix`. */
  statements (prefix: string): RecordedStatement[] {
    return this.executed.filter((s) => s.query.startsWith(prefix))
  }
}

function squash (query: string): string {
  return query.replace(/\s+/g, ' ').trim()
}
