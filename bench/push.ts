import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { encodeSend } from '../protocol/envelopes.js'
import { OP, Request, Response } from '../protocol/requests.js'
import { COMMAND, responseTopic, userSubtree } from '../protocol/topics.js'
import { connectAll } from './connect-all.js'
import { FcmEndpoint, makeTestCa } from './fcm-endpoint.js'
import type { StandInRequest } from './fcm-stand-in.js'
import { ask } from './ipc.js'
import { latencyHistogram, summarize, type LatencySummary } from './latency.js'
import { removeOnExit, sleep, spawnLimited, waitForLine } from './proc.js'
import { RawClient } from './raw-client.js'
import { mintTokens } from './tokens.js'
import { startWorker, stopWorker } from './workers.js'

const PROJECT = 'lowband-bench'
const PUSH_BROKER = fileURLToPath(new URL('./push-broker.js', import.meta.url))

export interface PushSettings {
  /** Messages of the latency run, each to its own sleeping recipient, one at a time. */
  latencyMessages: number
  /** The load run: this many sleeping recipients, each sent `messagesEach` messages by one sender in `seconds`. */
  recipients: number
  messagesEach: number
  seconds: number
  senders: number
}

export const FULL_PUSH: PushSettings = { latencyMessages: 300, recipients: 1000, messagesEach: 20, seconds: 10, senders: 10 }
export const QUICK_PUSH: PushSettings = { latencyMessages: 50, recipients: 100, messagesEach: 10, seconds: 2, senders: 4 }

export interface PushReport {
  settings: PushSettings
  /** From the sender's PUBACK to the push request at the FCM endpoint, recipient not connected. Goal p50 ≤ 50, p99 ≤ 200 ms. */
  sendToPush: LatencySummary
  load: {
    /** Push requests at the endpoint after the load run: one per recipient is the goal. */
    pushes: number
    /** The sender's PUBACK latency with push through the local FCM, and with push off. Goal p99 ratio ≤ 1.2. */
    pubackWithPush: LatencySummary
    pubackWithoutPush: LatencySummary
    p99Ratio: number
    /** The same with FCM accepting connections and never answering: sending must not notice. */
    pubackFcmSilent: LatencySummary
  }
}

/**
 * The push section: lowband in its own process with firebase-admin's connections taken to a local
 * FCM HTTP v1 endpoint over TLS with a test CA: in this process for the send → push run (push
 * arrivals and PUBACKs timed on one clock), in a process of its own for the load runs (a thousand
 * sends a second must not hold up the event loop that times the PUBACKs). Two measurements: how soon a push follows a message to a sleeping phone, and
 * what pushing costs the senders' PUBACKs under load (beside the same run with push off, and with
 * FCM taking every request and never answering).
 */
export async function measurePush (settings: PushSettings, log: (line: string) => void): Promise<PushReport> {
  const ca = makeTestCa()
  const caFile = removeOnExit(join(await mkdtemp(join(tmpdir(), 'lowband-bench-ca-')), 'ca.pem'))
  await writeFile(caFile, ca.ca)
  const endpoint = await FcmEndpoint.start(ca, PROJECT)
  const standIn = startWorker('fcm-stand-in')
  try {
    const sendToPush = await withBroker({ port: endpoint.port, caFile }, (port) => latencyRun(port, endpoint, settings.latencyMessages, log))
    log(`push: send → push p50 ${sendToPush.p50Ms} ms, p99 ${sendToPush.p99Ms} ms over ${sendToPush.count} messages`)
    // The load runs push to the stand-in in its own process (fcm-stand-in.ts), away from the event loop that times the PUBACKs.
    const { port: fcmPort } = await ask<{ type: 'started', port: number }, StandInRequest>(standIn.child, { type: 'start', ca, projectId: PROJECT }, 'started')
    const requests = async (reset = false): Promise<number> =>
      (await ask<{ type: 'counted', requests: number }, StandInRequest>(standIn.child, { type: 'count', reset }, 'counted')).requests
    const withPush = await withBroker({ port: fcmPort, caFile }, async (port) => {
      await warmUp(port, settings, log)
      await settled(requests)
      await requests(true)
      const puback = await loadRun(port, settings, log)
      await settled(requests)
      return puback
    })
    const pushes = await requests(true)
    log(`push: load with push: ${pushes} pushes for ${settings.recipients} recipients, PUBACK p99 ${withPush.p99Ms} ms`)
    const withoutPush = await withBroker({}, async (port) => {
      await warmUp(port, settings, log)
      return await loadRun(port, settings, log)
    })
    log(`push: load without push: PUBACK p99 ${withoutPush.p99Ms} ms`)
    await ask<{ type: 'answered' }, StandInRequest>(standIn.child, { type: 'answer', hang: true }, 'answered')
    const fcmSilent = await withBroker({ port: fcmPort, caFile }, async (port) => {
      await warmUp(port, settings, log)
      return await loadRun(port, settings, log)
    })
    log(`push: load with FCM never answering (${await requests()} push requests, none answered): PUBACK p99 ${fcmSilent.p99Ms} ms`)
    return {
      settings,
      sendToPush,
      load: {
        pushes,
        pubackWithPush: withPush,
        pubackWithoutPush: withoutPush,
        p99Ratio: Math.round(withPush.p99Ms / Math.max(withoutPush.p99Ms, 0.01) * 100) / 100,
        pubackFcmSilent: fcmSilent
      }
    }
  } finally {
    await stopWorker(standIn)
    await endpoint.close()
    await rm(caFile, { force: true })
  }
}

/** Runs `work` against a fresh broker process: pushing to the FCM endpoint on `port`, or with push off. */
async function withBroker<T> (fcm: { port?: number, caFile?: string }, work: (port: number) => Promise<T>): Promise<T> {
  const dataDir = removeOnExit(await mkdtemp(join(tmpdir(), 'lowband-bench-push-')))
  const mode = fcm.port === undefined ? ['off'] : [String(fcm.port), PROJECT, fcm.caFile!]
  const spawned = spawnLimited(process.execPath, [PUSH_BROKER, dataDir, ...mode])
  try {
    const port = await waitForLine(spawned, (line) => line.includes('"lowband ready"') ? (JSON.parse(line) as { tcp: number }).tcp : undefined)
    return await work(port)
  } finally {
    await spawned.stop(20_000)
    await rm(dataDir, { recursive: true, force: true })
  }
}

/** Connects each user once to register a push token for its device `phone` (and so exist), then leaves it asleep. */
async function sleepingPhones (port: number, users: string[], tokens: Map<string, string>): Promise<void> {
  await connectAll(users, 32, async (user) => {
    const client = await RawClient.connect({ port, clientId: `${user}/phone`, username: user, password: tokens.get(user)!, clean: true, keepalive: 600 })
    await client.subscribe(userSubtree(user), 1)
    const answered = new Promise<Response>((resolve) => {
      client.onMessage = (topic, payload) => { if (topic === responseTopic(user)) resolve(Response.decode(payload)) }
    })
    client.publish(COMMAND.request, Buffer.from(Request.encode({ rid: 1, op: OP.registerPush, args: new Map<number, unknown>([[1, `push-${user}`], [2, 0]]) })), 1)
    const response = await answered
    if (response.code !== undefined) throw new Error(`registerPush for ${user}: code ${response.code}`)
    client.end()
  })
}

async function latencyRun (port: number, endpoint: FcmEndpoint, messages: number, log: (line: string) => void): Promise<LatencySummary> {
  const recipients = Array.from({ length: messages }, (_, i) => `sleeper${i}`)
  const tokens = await mintTokens(['sender', ...recipients])
  await sleepingPhones(port, recipients, tokens)
  log(`push: ${recipients.length} sleeping phones registered`)
  const sender = await RawClient.connect({ port, clientId: 'sender/phone', username: 'sender', password: tokens.get('sender')!, clean: true, keepalive: 600 })
  const histogram = latencyHistogram()
  try {
    for (let i = 0; i < messages; i++) {
      const arrived = endpoint.received(i + 1)
      const send = encodeSend({ clientMsgId: i + 1, to: recipients[i]!, body: 'wake up' })
      await sender.publishAsync(send.topic, Buffer.from(send.payload), 1)
      const acked = performance.now()
      await Promise.race([arrived, sleep(5000).then(() => { throw new Error(`no push for message ${i} after 5 s`) })])
      const push = endpoint.requests.find((r) => r.body.message.token === `push-${recipients[i]!}`)!
      // The push can beat the PUBACK to this process (fan-out is not awaited): that counts as 0.
      histogram.recordValue(Math.max(1, Math.round((push.at - acked) * 1000)))
      await sleep(5)
    }
    return summarize(histogram)
  } finally {
    histogram.destroy()
    sender.destroy()
  }
}

/**
 * `recipients` sleeping phones, each sent `messagesEach` messages by one of the senders (so each
 * phone has one conversation: one push is the right answer) at an even rate over `seconds`.
 * Returns the senders' PUBACK latency.
 */
async function loadRun (port: number, s: PushSettings, log: (line: string) => void, names = ''): Promise<LatencySummary> {
  const recipients = Array.from({ length: s.recipients }, (_, i) => `${names}sleeper${i}`)
  const senders = Array.from({ length: s.senders }, (_, i) => `${names}sender${i}`)
  const tokens = await mintTokens([...senders, ...recipients])
  await sleepingPhones(port, recipients, tokens)
  const clients = await connectAll(senders, 8, (user) => RawClient.connect({ port, clientId: `${user}/phone`, username: user, password: tokens.get(user)!, clean: true, keepalive: 600 }))
  const histogram = latencyHistogram()
  const total = s.recipients * s.messagesEach
  let sent = 0
  let acked = 0
  try {
    const started = performance.now()
    while (sent < total) {
      const due = Math.min(total, Math.floor((performance.now() - started) / (s.seconds * 1000) * total))
      for (; sent < due; sent++) {
        const recipient = sent % s.recipients
        const publishedAt = performance.now()
        const send = encodeSend({ clientMsgId: sent + 1, to: recipients[recipient]!, body: `message ${sent}` })
        clients[recipient % s.senders]!.publish(send.topic, Buffer.from(send.payload), 1, () => {
          histogram.recordValue(Math.max(1, Math.round((performance.now() - publishedAt) * 1000)))
          acked++
        })
      }
      await sleep(2)
    }
    for (let waited = 0; acked < total && waited < 30_000; waited += 50) await sleep(50)
    if (acked < total) throw new Error(`${total - acked} of ${total} sends not acknowledged after 30 s`)
    log(`push: ${total} messages to ${s.recipients} sleeping phones in ${s.seconds} s acknowledged`)
    return summarize(histogram)
  } finally {
    histogram.destroy()
    for (const client of clients) client.destroy()
  }
}

/**
 * The same load, at two messages per phone, to other phones and from other senders, before each
 * measured run (push on, off, or FCM silent alike): every run is then measured on a broker whose
 * message and push paths have run before, as a broker that has been up a while has. On a fresh
 * process the first thousand or so pushes each cost ~2.5× the CPU of later ones while V8 compiles
 * the HTTP, TLS and firebase-admin code they run (`push/fcm.ts` at 32 sends in flight to a local
 * endpoint: ~510 µs a push over the first 2000, 180–230 µs after), a start-up cost only the push-on
 * run would otherwise pay inside its measurement.
 */
async function warmUp (port: number, s: PushSettings, log: (line: string) => void): Promise<void> {
  await loadRun(port, { ...s, messagesEach: Math.min(2, s.messagesEach), seconds: Math.max(1, s.seconds / 5) }, () => undefined, 'warm-')
  log(`push: warm-up of ${s.recipients} other sleeping phones done`)
}

/** Resolves once `count` has not grown for a second (pushes still in flight after the run). */
async function settled (count: () => Promise<number>): Promise<void> {
  let last = -1
  for (let now = await count(); now !== last; now = await count()) {
    last = now
    await sleep(1000)
  }
}
