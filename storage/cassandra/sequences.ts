import { RetriableError } from '../retriable.js'
import { applied, toNumber, type CqlClient, type CqlOptions } from './cql-client.js'

/** LWT attempts before an allocation gives up with a RetriableError (the client resends later). */
export const MAX_LWT_ATTEMPTS = 20

/** Counters whose last value this node remembers, so the first LWT usually guesses right. */
const REMEMBERED = 10_000

export type SequenceScope = 'c' | 'u'

/**
 * Sequence numbers from Cassandra, which has no transactions: a compare-and-set per number
 * (lightweight transaction, Paxos at SERIAL: 4 round trips to a quorum of replicas). The first
 * number is an INSERT … IF NOT EXISTS; each next one an UPDATE … IF n = expected. A refused
 * compare-and-set returns the current value, which the next attempt expects: two nodes can never
 * hand out one number twice, and a node that lost the race retries without an extra read.
 */
export class Sequences {
  readonly #client: CqlClient
  readonly #options: CqlOptions
  /** The last value seen per counter (bounded; a wrong guess costs one refused attempt). */
  readonly #last = new Map<string, number>()

  constructor (client: CqlClient, options: CqlOptions) {
    this.#client = client
    this.#options = options
  }

  async next (scope: SequenceScope, key: string): Promise<number> {
    const memo = `${scope}/${key}`
    let expected = this.#last.get(memo)
    for (let attempt = 0; attempt < MAX_LWT_ATTEMPTS; attempt++) {
      const { rows: [row] } = expected === undefined
        ? await this.#client.execute('INSERT INTO sequences (scope, key, n) VALUES (?, ?, 1) IF NOT EXISTS', [scope, key], this.#options)
        : await this.#client.execute('UPDATE sequences SET n = ? WHERE scope = ? AND key = ? IF n = ?', [expected + 1, scope, key, expected], this.#options)
      if (applied(row)) return this.#remember(memo, (expected ?? 0) + 1)
      // Refused: the row holds another value (or, for the UPDATE, does not exist yet: n is null).
      expected = row?.['n'] === null || row?.['n'] === undefined ? undefined : toNumber(row['n'])
    }
    throw new RetriableError(`sequence ${memo}: still contended after ${MAX_LWT_ATTEMPTS} attempts`)
  }

  /** The current value of a counter (0 before its first number). */
  async current (scope: SequenceScope, key: string): Promise<number> {
    const { rows: [row] } = await this.#client.execute('SELECT n FROM sequences WHERE scope = ? AND key = ?', [scope, key], this.#options)
    return row === undefined ? 0 : toNumber(row['n'])
  }

  #remember (memo: string, value: number): number {
    this.#last.delete(memo)
    this.#last.set(memo, value)
    if (this.#last.size > REMEMBERED) this.#last.delete(this.#last.keys().next().value!)
    return value
  }
}
