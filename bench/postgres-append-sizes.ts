import pg from 'pg'
import { openPostgresStorage } from '../storage/postgres/index.js'
import { PrivatePostgres } from './private-postgres.js'
import { cpuMs } from './proc.js'

/**
 * `node dist/bench/postgres-append-sizes.js [appends] [batch sizes, comma-separated] [rounds]`:
 * PostgreSQL's backend CPU per append for each form of a group-committed transaction's appends
 * (migration 9) at each batch size — `each` (lowband_append_each: one lowband_append per message)
 * and `set` (lowband_append_set: one statement per table for the batch) — on a private server
 * with fsync on, one transaction per batch. lowband_append_batch picks between them by batch size
 * (SETWISE_FROM in storage/postgres/setwise-append-schema.ts); this is what that choice rests on.
 * Rounds alternate the forms, so a busy machine's drift falls on both. Not part of `npm run bench`.
 */
const appends = Number(process.argv[2] ?? 2000)
const sizes = (process.argv[3] ?? '1,4,8,16,32,64').split(',').map(Number)
const rounds = Number(process.argv[4] ?? 2)
const FORMS = { each: 'lowband_append_each', set: 'lowband_append_set' } as const
const CBOR = Buffer.from([0x61, 0x61])

const postgres = await PrivatePostgres.create()
try {
  await (await openPostgresStorage(postgres.url)).close()
  const client = new pg.Client({ connectionString: postgres.url })
  await client.connect()
  const { rows: [backend] } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')
  let next = 0
  /** One transaction of `size` 1:1 appends: 16 senders, 100 recipients, as postgres-append.ts sends them. */
  const transaction = async (fn: string, size: number): Promise<void> => {
    const items = Array.from({ length: size }, () => next++)
    await client.query('BEGIN')
    await client.query(`SELECT * FROM ${fn}($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::boolean[],
        $8::boolean[], $9::integer[], $10::bigint[], $11::bytea[], $12::bytea[], $13::integer[], $14::text[])`,
    [items.map((i) => `m${i}`), items.map((i) => `s${i % 16}|r${i % 100}`), items.map((i) => `k${i}`), items.map((i) => `s${i % 16}`),
      items.map(() => 'd'), items.map((i) => `r${i % 100}`), items.map(() => false), items.map(() => false), items.map(() => 0),
      items.map(() => 1_700_000_000), items.map(() => CBOR), items.map(() => CBOR), items.map(() => 2), items.flatMap((i) => [`s${i % 16}`, `r${i % 100}`])])
    await client.query('COMMIT')
  }
  for (let round = 1; round <= rounds; round++) {
    for (const size of sizes) {
      for (const [form, fn] of Object.entries(FORMS)) {
        // Warm the backend's plan cache, then measure whole transactions.
        for (let i = 0; i < 10; i++) await transaction(fn, size)
        const batches = Math.max(1, Math.round(appends / size))
        const before = cpuMs(backend!.pid)
        for (let i = 0; i < batches; i++) await transaction(fn, size)
        const usPerAppend = Math.round((cpuMs(backend!.pid) - before) * 1000 / (batches * size))
        process.stdout.write(`${JSON.stringify({ round, batch: size, form, appends: batches * size, backendCpuUsPerAppend: usPerAppend })}\n`)
      }
    }
  }
  await client.end()
} finally {
  await postgres.destroy()
}
