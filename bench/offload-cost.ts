import { randomBytes } from 'node:crypto'
import { mkdtempSync, readlinkSync, rmSync } from 'node:fs'
import { cpus, loadavg } from 'node:os'
import { isMainThread, parentPort, Worker } from 'node:worker_threads'
import { ClassicLevel } from 'classic-level'
import { conversationOf, type NewDirectMessage, type StoredMessage } from '../storage/contracts.js'
import type { Op, StoredRecord } from '../storage/embedded/core.js'
import { keys } from '../storage/embedded/keys.js'
import { appendOps } from '../storage/embedded/messages.js'
import { createMessageIdGenerator, dedupKey } from '../storage/message-id.js'
import { renderTable } from './table.js'
import { threadsCpuMs } from './thread-cpu.js'

/**
 * Issue 18, item 3: would moving a 1:1 message's record encoding and LevelDB op building
 * (EmbeddedMessageStore#append) off the main thread, to a worker on the idle second core, lower the
 * main thread's cost per message? Per message, it measures the main thread's CPU time (utime + stime
 * of its task in /proc, in ticks of 10 ms, so every case runs at least MIN_MS), the worker's, the
 * other threads' (libuv's pool running the batches, V8's helpers) and the wall time, in two passes
 * (in order, then reversed: later cases write to a larger database), for:
 *   - prepare only: what stays on the main thread either way (the numbers, the id, the record object);
 *   - inline: that, encodeRecord, the five puts of #append and classic-level's `_batch`, one batch per
 *     TURN messages (the group committer writes one event-loop turn's appends as one batch);
 *   - worker: the main thread posts each placed record to a worker, which encodes it, builds the ops
 *     and posts them back per TURN, cloned as they are or packed in one transferred ArrayBuffer, and
 *     the main thread calls `_batch` with them (or not: the round trip alone).
 * Run after `tsc -p tsconfig.build.json`:
 *   node dist/bench/offload-cost.js [count=50000]
 * Left out on purpose, as they stay on the main thread either way: the dedup lookup (getSync), the
 * committer's queue, the read caches, MQTT and the wire. Batches are written with sync: false, so the
 * disk (fsync) is not what is measured. 1:1 messages only.
 */

/** Messages per batch: one turn's appends under load (about 100 at 3000 msg/s in the profile). */
const TURN = 100
/** Turns in flight at once, so the worker and libuv's pool work while the main thread prepares the next. */
const WINDOW = 4
/** Every case runs at least this long: a 10 ms tick is then under 0.4 % of what is measured. */
const MIN_MS = 3000
/** Messages run before each case is measured, so every path is compiled by then. */
const WARM_UP = 10 * TURN
const USERS = 2000
/** Bytes of a simulated socket read: drafts' bodies and client ids are views into one, as decoded. */
const READ_BYTES = 1024
const NOT_SYNCED = { sync: false }

/** A decoded message as the publish flow hands it to the store. */
interface Draft extends NewDirectMessage { body: Uint8Array, clientMsgId: Uint8Array }
/** What the main thread posts to the worker: a message with its numbers taken. */
interface Job { record: StoredRecord, dedup: string }
/** The worker's ops for one turn, packed: keys, where each value ends in `bytes`, the values. */
interface Packed { keys: string[], ends: Uint32Array, bytes: ArrayBuffer }
type Reply = { ops: Op[] } | Packed
type Back = 'clone' | 'packed'

interface Case {
  name: string
  /** Where records are encoded and ops built: nowhere (prepare only), the main thread, or the worker. */
  where: 'none' | 'main' | 'worker'
  /** Worker: one postMessage per message, or one per turn. */
  post: 'message' | 'turn'
  back: Back
  write: boolean
}

const CASES: Case[] = [
  { name: 'prepare only', where: 'none', post: 'message', back: 'clone', write: false },
  { name: 'inline, no _batch', where: 'main', post: 'message', back: 'clone', write: false },
  { name: 'inline', where: 'main', post: 'message', back: 'clone', write: true },
  { name: 'worker, post each, cloned back', where: 'worker', post: 'message', back: 'clone', write: true },
  { name: 'worker, post each, packed back', where: 'worker', post: 'message', back: 'packed', write: true },
  { name: 'worker, post each, packed back, no _batch', where: 'worker', post: 'message', back: 'packed', write: false },
  { name: 'worker, post per turn, packed back', where: 'worker', post: 'turn', back: 'packed', write: true },
  { name: 'worker, post per turn, packed back, no _batch', where: 'worker', post: 'turn', back: 'packed', write: false }
]

interface ThreadCpu { main: number, worker: number, others: number }
/** A case's totals over its passes (CPU and wall in ms), and the main thread's µs/msg in each pass. */
interface Result { name: string, messages: number, mainMs: number, workerMs: number, othersMs: number, wallMs: number, mainUsByPass: number[] }

/** What the main thread keeps either way: the sequence counters and the id generator. */
interface Placer { counters: Map<string, number>, newId: () => string }

function take (counters: Map<string, number>, name: string): number {
  const next = (counters.get(name) ?? 0) + 1
  counters.set(name, next)
  return next
}

/**
 * What #append does before its ops: take the numbers, mint the id, build the record. `owned` copies
 * the body and client id out of the socket read they are views into; otherwise posting them would
 * clone that whole read.
 */
function place (draft: Draft, placer: Placer, owned: boolean): Job {
  const conversation = conversationOf(draft.from, draft.to)
  const cseq = take(placer.counters, `c:${conversation}`)
  const seqs: Record<string, number> = {}
  for (const user of [draft.from, draft.to]) seqs[user] = take(placer.counters, `i:${user}`)
  const message: StoredMessage = {
    from: draft.from, fromDevice: draft.fromDevice, to: draft.to, kind: draft.kind, ts: draft.ts,
    body: owned ? draft.body.slice() : draft.body, clientMsgId: owned ? draft.clientMsgId.slice() : draft.clientMsgId,
    id: placer.newId(), conversation, cseq
  }
  return { record: { message, seqs }, dedup: keys.dedup(dedupKey(draft.from, draft.fromDevice, draft.clientMsgId)) }
}

/** Realistic drafts: short user ids, 20–60 byte bodies, 7-byte client ids, views into socket reads. */
function draftsOf (count: number): Draft[] {
  const drafts: Draft[] = []
  let read = randomBytes(READ_BYTES)
  let at = 0
  const view = (length: number): Uint8Array => {
    if (at + length > read.length) { read = randomBytes(READ_BYTES); at = 0 }
    at += length
    return read.subarray(at - length, at)
  }
  for (let i = 0; i < count; i++) {
    const from = Math.floor(Math.random() * USERS)
    const to = (from + 1 + Math.floor(Math.random() * (USERS - 1))) % USERS
    drafts.push({ from: `u${from}`, fromDevice: 'd1', to: `u${to}`, kind: 1, ts: Math.floor(Date.now() / 1000), body: view(20 + Math.floor(Math.random() * 41)), clientMsgId: view(7) })
  }
  return drafts
}

/** One turn's ops in one fresh ArrayBuffer, so it can be transferred (the encoder's own buffer cannot). */
function pack (ops: Op[]): { packed: Packed, transfer: ArrayBuffer[] } {
  const ends = new Uint32Array(ops.length)
  let total = 0
  for (let i = 0; i < ops.length; i++) ends[i] = total += ops[i]!.value.length
  const bytes = new Uint8Array(total)
  for (let i = 0; i < ops.length; i++) bytes.set(ops[i]!.value, i === 0 ? 0 : ends[i - 1]!)
  return { packed: { keys: ops.map((op) => op.key), ends, bytes: bytes.buffer }, transfer: [bytes.buffer, ends.buffer] }
}

function unpack (packed: Packed): Op[] {
  const ops: Op[] = new Array(packed.keys.length)
  let start = 0
  for (let i = 0; i < ops.length; i++) {
    const end = packed.ends[i]!
    ops[i] = { type: 'put', key: packed.keys[i]!, value: Buffer.from(packed.bytes, start, end - start) }
    start = end
  }
  return ops
}

/** The worker: builds each job's ops and posts them back once a turn's jobs are in. */
function serveWorker (): void {
  const port = parentPort!
  let back: Back = 'clone'
  let ops: Op[] = []
  let jobs = 0
  const add = (job: Job): void => {
    for (const op of appendOps(job.record, job.dedup, Object.keys(job.record.seqs))) ops.push(op)
    if (++jobs < TURN) return
    if (back === 'clone') {
      port.postMessage({ ops })
    } else {
      const { packed, transfer } = pack(ops)
      port.postMessage(packed, transfer)
    }
    ops = []
    jobs = 0
  }
  port.on('message', (message: Job | Job[] | { back: Back }) => {
    if (Array.isArray(message)) for (const job of message) add(job)
    else if ('back' in message) back = message.back
    else add(message)
  })
  // /proc/thread-self links to /proc/<pid>/task/<tid> of the thread that reads it.
  port.postMessage({ tid: Number(readlinkSync('/proc/thread-self').split('/').pop()) })
}

/** The main thread's end of the worker: replies come back in the order turns were posted. */
class WorkerLink {
  readonly worker: Worker
  readonly tid: number
  readonly #waiting: Array<(reply: Reply) => void> = []

  private constructor (worker: Worker, tid: number) {
    this.worker = worker
    this.tid = tid
    worker.on('message', (reply: Reply) => this.#waiting.shift()!(reply))
  }

  static async start (): Promise<WorkerLink> {
    const worker = new Worker(new URL(import.meta.url))
    const hello = await new Promise<{ tid: number }>((resolve, reject) => {
      worker.once('message', resolve)
      worker.once('error', reject)
    })
    return new WorkerLink(worker, hello.tid)
  }

  /** The reply to the turn about to be posted. */
  nextReply (): Promise<Reply> {
    return new Promise((resolve) => this.#waiting.push(resolve))
  }
}

/** CPU ms so far of the main thread, the worker and every other thread of this process. */
function threadCpu (workerTid: number): ThreadCpu {
  const cpu: ThreadCpu = { main: 0, worker: 0, others: 0 }
  for (const { tid, user, system } of threadsCpuMs()) {
    if (tid === process.pid) cpu.main += user + system
    else if (tid === workerTid) cpu.worker += user + system
    else cpu.others += user + system
  }
  return cpu
}

type Write = (ops: Op[]) => Promise<void>

/** One turn of `c`: place the drafts, get their ops built where the case says, write them. */
async function runTurn (c: Case, drafts: Draft[], placer: Placer, link: WorkerLink, write: Write): Promise<void> {
  if (c.where === 'none') {
    for (const draft of drafts) place(draft, placer, false)
    return
  }
  if (c.where === 'main') {
    const ops: Op[] = []
    for (const draft of drafts) {
      const { record, dedup } = place(draft, placer, false)
      for (const op of appendOps(record, dedup, Object.keys(record.seqs))) ops.push(op)
    }
    if (c.write) await write(ops)
    return
  }
  const replied = link.nextReply()
  if (c.post === 'message') {
    for (const draft of drafts) link.worker.postMessage(place(draft, placer, true))
  } else {
    link.worker.postMessage(drafts.map((draft) => place(draft, placer, true)))
  }
  const reply = await replied
  const ops = 'ops' in reply ? reply.ops : unpack(reply)
  if (c.write) await write(ops)
}

/** All `drafts` through `c`, in turns of TURN with WINDOW turns in flight. */
async function runRound (c: Case, drafts: Draft[], placer: Placer, link: WorkerLink, write: Write): Promise<void> {
  const turns = Math.ceil(drafts.length / TURN)
  let next = 0
  const lane = async (): Promise<void> => {
    while (next < turns) {
      const turn = next++
      await runTurn(c, drafts.slice(turn * TURN, (turn + 1) * TURN), placer, link, write)
    }
  }
  await Promise.all(Array.from({ length: WINDOW }, lane))
}

/** Rounds of `drafts` through `c` until MIN_MS have passed, after a warm-up. */
async function measure (c: Case, drafts: Draft[], placer: Placer, link: WorkerLink, write: Write): Promise<Result> {
  link.worker.postMessage({ back: c.back })
  await runRound(c, drafts.slice(0, WARM_UP), placer, link, write)
  const before = threadCpu(link.tid)
  const start = performance.now()
  let messages = 0
  do {
    await runRound(c, drafts, placer, link, write)
    messages += drafts.length
  } while (performance.now() - start < MIN_MS)
  const wallMs = performance.now() - start
  const after = threadCpu(link.tid)
  const mainMs = after.main - before.main
  return {
    name: c.name,
    messages,
    mainMs,
    workerMs: after.worker - before.worker,
    othersMs: after.others - before.others,
    wallMs,
    mainUsByPass: [mainMs * 1000 / messages]
  }
}

/** One case's results of several passes, as if one run. */
function merged (a: Result, b: Result): Result {
  return {
    name: a.name,
    messages: a.messages + b.messages,
    mainMs: a.mainMs + b.mainMs,
    workerMs: a.workerMs + b.workerMs,
    othersMs: a.othersMs + b.othersMs,
    wallMs: a.wallMs + b.wallMs,
    mainUsByPass: [...a.mainUsByPass, ...b.mainUsByPass]
  }
}

/** µs per message of a total in ms. */
function perMessage (r: Result, ms: number): number {
  return ms * 1000 / r.messages
}

/** A throwaway LevelDB under /tmp, removed at exit however the run ends. */
async function openScratchDb (): Promise<ClassicLevel<string, Uint8Array>> {
  const dir = mkdtempSync('/tmp/lowband-offload-')
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }))
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(130))
  const db = new ClassicLevel<string, Uint8Array>(dir, { valueEncoding: 'view' })
  await db.open()
  return db
}

/** classic-level's `_batch`, as the committer calls it: no cloning or re-encoding of the ops. */
function batchWriter (db: ClassicLevel<string, Uint8Array>): Write {
  const raw = db as unknown as { _batch: (ops: Op[], options: { sync: boolean }) => Promise<void> }
  return (ops) => raw._batch(ops, NOT_SYNCED)
}

function report (results: Result[], count: number, load: string): string {
  const us = (n: number): string => n.toFixed(2)
  const table = renderTable(
    ['case', 'main thread µs/msg', 'main, pass 1 / 2', 'worker µs/msg', 'other threads µs/msg', 'wall µs/msg', 'messages'],
    results.map((r) => [r.name, us(perMessage(r, r.mainMs)), r.mainUsByPass.map((n) => n.toFixed(1)).join(' / '),
      us(perMessage(r, r.workerMs)), us(perMessage(r, r.othersMs)), us(perMessage(r, r.wallMs)), r.messages])
  )
  return [
    `Machine: ${cpus()[0]?.model ?? 'unknown'}, ${cpus().length} cores; Node ${process.version}; count ${count}; load average at start ${load}`,
    `Batches of ${TURN} messages (${TURN * 5} puts), ${WINDOW} in flight, written with sync: false (the disk is not measured); ` +
      `each case ≥ ${MIN_MS / 1000} s after ${WARM_UP} warm-up messages, in two passes (in order, then reversed, as the database grows).`,
    '',
    table,
    '',
    reading(results)
  ].join('\n')
}

/** The one line that answers the question, from the table's figures. */
function reading (results: Result[]): string {
  const mainUs = (name: string): number => { const found = results.find((r) => r.name === name)!; return perMessage(found, found.mainMs) }
  const prepare = mainUs('prepare only')
  const inline = mainUs('inline')
  const f = (n: number): string => n.toFixed(2)
  const offloaded = results.filter((r) => r.name.startsWith('worker') && !r.name.endsWith('no _batch'))
  const best = offloaded.reduce((a, b) => (perMessage(b, b.mainMs) < perMessage(a, a.mainMs) ? b : a))
  const saved = inline - perMessage(best, best.mainMs)
  return `Reading: encoding and op building cost the main thread ${f(mainUs('inline, no _batch') - prepare)} µs/msg inline; ` +
    `the round trip that replaces them costs it ${f(mainUs('worker, post each, packed back, no _batch') - prepare)} µs/msg posting each message, ` +
    `${f(mainUs('worker, post per turn, packed back, no _batch') - prepare)} posting per turn; _batch itself ${f(inline - mainUs('inline, no _batch'))}. ` +
    `Best offloaded case (${best.name}): main thread ${f(perMessage(best, best.mainMs))} vs ${f(inline)} µs/msg inline, ` +
    `${saved >= 0 ? `${f(saved)} µs/msg less` : `${f(-saved)} µs/msg more`}, for ${f(perMessage(best, best.workerMs))} µs/msg on the worker.`
}

async function main (): Promise<void> {
  const count = Math.ceil(Number(process.argv[2] ?? 50_000) / TURN) * TURN
  const load = loadavg().map((n) => n.toFixed(2)).join(' ')
  const db = await openScratchDb()
  const link = await WorkerLink.start()
  const drafts = draftsOf(count)
  const placer: Placer = { counters: new Map(), newId: createMessageIdGenerator() }
  const write = batchWriter(db)
  const results = new Map<string, Result>()
  for (const c of [...CASES, ...[...CASES].reverse()]) {
    const result = await measure(c, drafts, placer, link, write)
    const earlier = results.get(c.name)
    results.set(c.name, earlier === undefined ? result : merged(earlier, result))
    process.stderr.write(`measured: ${c.name}\n`)
  }
  await link.worker.terminate()
  await db.close()
  console.log(report([...results.values()], count, load))
}

if (isMainThread) await main()
else serveWorker()
