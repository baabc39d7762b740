import { cpuUsage } from 'node:process'
import { openPostgresStorage } from '../storage/postgres/index.js'
import { PrivatePostgres } from './private-postgres.js'
import { cpuMsOf } from './proc.js'

/**
 * `node dist/bench/postgres-append.js [messages] [concurrency…]`: the cost of a PostgreSQL append
 * (appendDirect: message, dedup key, cseq, two inbox seqs, one transaction) on a private server
 * with fsync on, at each concurrency — 1 is one commit per message, more lets the group committer
 * share commits. Prints appends/s, and the CPU per append of the broker process and of PostgreSQL
 * (its postmaster, background processes and backends, from /proc). Not part
 * of `npm run bench`: it measures the store alone, without MQTT.
 */
const messages = Number(process.argv[2] ?? 2000)
const levels = process.argv.length > 3 ? process.argv.slice(3).map(Number) : [1, 16, 200]
const postgres = await PrivatePostgres.create()
try {
  for (const concurrency of levels) {
    const storage = await openPostgresStorage(postgres.url)
    let sent = 0
    const cpu = cpuUsage()
    const postgresMs = cpuMsOf(postgres.pids())
    const started = performance.now()
    const sender = async (worker: number): Promise<void> => {
      while (sent < messages) {
        const i = sent++
        await storage.messages.appendDirect({ from: `s${worker}`, fromDevice: 'd', to: `r${i % 100}`, body: 'x'.repeat(40), kind: 0, ts: 1_700_000_000, clientMsgId: `${concurrency}-${i}` })
      }
    }
    await Promise.all(Array.from({ length: concurrency }, (_, w) => sender(w)))
    const seconds = (performance.now() - started) / 1000
    const used = cpuUsage(cpu)
    // Before close: a backend that exits takes its CPU time with it.
    const postgresUs = (cpuMsOf(postgres.pids()) - postgresMs) * 1000
    process.stdout.write(`${JSON.stringify({
      concurrency, messages, appendsPerSecond: Math.round(messages / seconds),
      brokerCpuUsPerAppend: Math.round((used.user + used.system) / messages), postgresCpuUsPerAppend: Math.round(postgresUs / messages)
    })}\n`)
    await storage.close()
  }
} finally {
  await postgres.destroy()
}
