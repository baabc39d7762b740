import type { CqlClient, CqlOptions, CqlRow } from '../../storage/cassandra/cql-client.js'

interface Table { partition: string[], clustering: string | undefined, descending: boolean, statics: Set<string> }
interface Partition { statics: CqlRow, rows: Map<string, CqlRow> }

/**
 * An in-memory stand-in for a Cassandra server that runs the message store's own statements (the
 * shapes in storage/cassandra/*.ts: INSERT [IF NOT EXISTS], UPDATE … IF c = ?, single-partition
 * SELECT with one clustering range, ORDER BY, LIMIT; static columns; batches), one at a time, as one
 * replica would. It lets the shared contract suite exercise the adapter's logic here; it says
 * nothing about Cassandra's own behaviour (consistency, Paxos, tombstones), which only a real
 * server shows (CASSANDRA_CONTACT_POINTS).
 */
export class MemoryCql implements CqlClient {
  readonly #tables = new Map<string, Table>()
  /** The write timestamp of each row written USING TIMESTAMP, by table and key. */
  readonly #timestamps = new Map<string, number>()
  readonly #data = new Map<string, Map<string, Partition>>()

  async execute (query: string, params: unknown[], _options: CqlOptions): Promise<{ rows: CqlRow[] }> {
    await Promise.resolve()
    return { rows: this.#run(query.replace(/\s+/g, ' ').trim(), [...params]) }
  }

  async batch (queries: Array<{ query: string, params: unknown[] }>, options: CqlOptions): Promise<unknown> {
    for (const { query, params } of queries) await this.execute(query, params, options)
    return {}
  }

  #run (cql: string, params: unknown[]): CqlRow[] {
    let m: RegExpMatchArray | null
    if ((m = cql.match(/^CREATE TABLE IF NOT EXISTS (\w+) \((.*?)\)( WITH CLUSTERING ORDER BY \(\w+ DESC\))?$/)) !== null) return this.#create(m[1]!, m[2]!, m[3] !== undefined)
    if ((m = cql.match(/^INSERT INTO (\w+) \(([^)]*)\) VALUES \(([^)]*)\)( IF NOT EXISTS)?( USING TIMESTAMP \?)?$/)) !== null) {
      const literals = m[3]!.split(', ')
      const values = Object.fromEntries(m[2]!.split(', ').map((c, i) => [c, literals[i] === '?' ? params.shift() : Number(literals[i])]))
      const { partition, key } = this.#locate(m[1]!, values)
      const existing = partition.rows.get(key)
      if (m[4] !== undefined && existing !== undefined) return [{ '[applied]': false, ...partition.statics, ...existing }]
      if (m[5] !== undefined) {
        // Cassandra keeps the write with the greatest timestamp, whatever the order they arrive in.
        const timestamp = Number(params.shift())
        const stamp = `${m[1]!}\0${key}`
        if ((this.#timestamps.get(stamp) ?? -Infinity) > timestamp) return []
        this.#timestamps.set(stamp, timestamp)
      }
      this.#write(m[1]!, partition, key, values)
      return m[4] !== undefined ? [{ '[applied]': true }] : []
    }
    if ((m = cql.match(/^UPDATE (\w+) SET (.*?) WHERE (.*?)( IF (\w+) = \?)?$/)) !== null) {
      const sets = m[2]!.split(', ').map((s) => s.replace(' = ?', ''))
      const setValues = Object.fromEntries(sets.map((c) => [c, params.shift()]))
      const where = Object.fromEntries(m[3]!.split(' AND ').map((w) => [w.replace(' = ?', ''), params.shift()]))
      const { partition, key } = this.#locate(m[1]!, where)
      if (m[4] !== undefined) {
        const column = m[5]!
        const table = this.#tables.get(m[1]!)!
        const current = (table.statics.has(column) ? partition.statics[column] : partition.rows.get(key)?.[column]) ?? null
        if (current !== (params[0] ?? null)) return [{ '[applied]': false, [column]: current }]
      }
      this.#write(m[1]!, partition, key, { ...where, ...setValues })
      return m[4] !== undefined ? [{ '[applied]': true }] : []
    }
    if ((m = cql.match(/^SELECT (.*?) FROM (\w+) WHERE (.*?)( ORDER BY \w+ ASC)?( LIMIT \?)?$/)) !== null) return this.#select(m[2]!, m[1]!.split(', '), m[3]!, m[4] !== undefined, m[5] !== undefined, params)
    throw new Error(`MemoryCql cannot run: ${cql}`)
  }

  #create (name: string, body: string, descending: boolean): CqlRow[] {
    const statics = new Set([...body.matchAll(/(\w+) \w+ static/g)].map((s) => s[1]!))
    const inline = body.match(/^(\w+) \w+ PRIMARY KEY/)
    const compound = body.match(/PRIMARY KEY \(\(([^)]*)\)(?:, (\w+))?\)/)
    const table = inline !== null ? { partition: [inline[1]!], clustering: undefined } : { partition: compound![1]!.split(', '), clustering: compound![2] }
    this.#tables.set(name, { ...table, descending, statics })
    this.#data.set(name, new Map())
    return []
  }

  #locate (name: string, values: CqlRow): { partition: Partition, key: string } {
    const table = this.#tables.get(name)!
    const pk = JSON.stringify(table.partition.map((c) => values[c]))
    let partition = this.#data.get(name)!.get(pk)
    if (partition === undefined) {
      partition = { statics: {}, rows: new Map() }
      this.#data.get(name)!.set(pk, partition)
    }
    return { partition, key: JSON.stringify(table.clustering === undefined ? null : values[table.clustering] ?? null) }
  }

  #write (name: string, partition: Partition, key: string, values: CqlRow): void {
    const table = this.#tables.get(name)!
    const own = Object.entries(values).filter(([c]) => !table.statics.has(c))
    for (const [c, v] of Object.entries(values)) if (table.statics.has(c)) partition.statics[c] = v
    // A write of static columns alone (no clustering value) creates no row.
    if (table.clustering !== undefined && values[table.clustering] === undefined) return
    partition.rows.set(key, { ...partition.rows.get(key), ...Object.fromEntries(own) })
  }

  #select (name: string, columns: string[], where: string, ascending: boolean, limited: boolean, params: unknown[]): CqlRow[] {
    const table = this.#tables.get(name)!
    const equal: CqlRow = {}
    const ranges: Array<(row: CqlRow) => boolean> = []
    for (const clause of where.split(' AND ')) {
      const [column, op] = clause.split(' ') as [string, string]
      const value = params.shift()
      if (op === '=' && column !== table.clustering) equal[column] = value
      else ranges.push((row) => compare(row[column], op, value))
    }
    const { partition } = this.#locate(name, equal)
    const sorted = [...partition.rows.values()].filter((row) => ranges.every((test) => test(row)))
    if (table.clustering !== undefined) {
      const c = table.clustering
      sorted.sort((a, b) => (a[c] as number) - (b[c] as number))
      if (table.descending !== ascending) sorted.reverse()
    }
    const rows = sorted.length === 0 && Object.keys(partition.statics).length > 0 && table.clustering !== undefined ? [{}] : sorted
    const limit = limited ? params.shift() as number : Infinity
    return rows.slice(0, limit).map((row) => Object.fromEntries(columns.map((c) => [c, (table.statics.has(c) ? partition.statics[c] : row[c]) ?? null])))
  }
}

function compare (a: unknown, op: string, b: unknown): boolean {
  if (a === undefined || a === null) return false
  const x = a as number
  const y = b as number
  switch (op) {
    case '=': return x === y
    case '>': return x > y
    case '<': return x < y
    case '>=': return x >= y
    case '<=': return x <= y
    default: throw new Error(`MemoryCql: operator ${op}`)
  }
}
