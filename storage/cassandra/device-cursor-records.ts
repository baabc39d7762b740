import { toNumber, type CqlClient, type CqlOptions } from './cql-client.js'

/**
 * Device cursors in Cassandra, in the shape of main's CursorRecords (storage/device-cursors.ts,
 * MessageStore.deviceCursor): `write` keeps the greater of a stored and a written seq. Each cursor
 * is written with its seq as the cell's write timestamp (USING TIMESTAMP): Cassandra keeps the
 * write with the greatest timestamp, so the greater seq wins whichever broker writes last, with
 * no read and no LWT. Only this code writes the table, so no real-time timestamp competes.
 */
export class CassandraCursorRecords {
  readonly #client: CqlClient
  readonly #options: CqlOptions

  constructor (client: CqlClient, options: CqlOptions) {
    this.#client = client
    this.#options = options
  }

  async read (userId: string, deviceId: string): Promise<number | undefined> {
    const { rows: [row] } = await this.#client.execute(
      'SELECT seq FROM device_cursors WHERE user_id = ? AND device_id = ?', [userId, deviceId], this.#options)
    return row === undefined || row['seq'] === null ? undefined : toNumber(row['seq'])
  }

  /** One statement per cursor, in parallel: the cursors are in different partitions (a batch would only add a coordinator hop). */
  async write (cursors: Array<{ userId: string, deviceId: string, seq: number }>): Promise<void> {
    await Promise.all(cursors.map(({ userId, deviceId, seq }) => this.#client.execute(
      'INSERT INTO device_cursors (user_id, device_id, seq) VALUES (?, ?, ?) USING TIMESTAMP ?', [userId, deviceId, seq, seq], this.#options)))
  }
}
