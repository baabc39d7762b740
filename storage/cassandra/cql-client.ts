/**
 * The part of cassandra-driver's Client the message store uses: a driver Client satisfies it, and
 * the unit tests pass a recording fake of it (no server needed to check the CQL and its binding).
 */
/** Consistency levels an operator may choose (--cassandra-consistency; cassandra-driver's names); LOCAL_QUORUM by default. */
export const CONSISTENCY_LEVELS = ['one', 'localOne', 'localQuorum', 'quorum', 'eachQuorum', 'all'] as const
export type ConsistencyLevel = typeof CONSISTENCY_LEVELS[number]

export interface CqlOptions {
  /** Always prepared: the driver then types numbers as the columns' bigint and caches the plan. */
  prepare: true
  /** cassandra-driver's types.consistencies value for the statement. */
  consistency: number
  /** For LWT statements (IF …): the Paxos phase's consistency. */
  serialConsistency?: number
}

/** A row as the driver returns it; bigint columns arrive as Long objects (see toNumber). */
export type CqlRow = Record<string, unknown>

export interface CqlClient {
  execute (query: string, params: unknown[], options: CqlOptions): Promise<{ rows: CqlRow[] }>
  batch (queries: Array<{ query: string, params: unknown[] }>, options: CqlOptions): Promise<unknown>
}

/** A bigint column's value (a driver Long, or a number from a fake) as a JS number. */
export function toNumber (value: unknown): number {
  return typeof value === 'number' ? value : Number(String(value))
}

/** Whether an LWT statement (IF …) took effect: the driver's `[applied]` column. */
export function applied (row: CqlRow | undefined): boolean {
  return row?.['[applied]'] === true
}
