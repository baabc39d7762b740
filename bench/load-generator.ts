import type { Histogram } from 'hdr-histogram-js'
import type { BrokerKind } from './brokers.js'
import { chatPayload, deliveredNumber, publishBenchKeys, type Pair } from './chat-traffic.js'
import { serve, type WorkerMessage } from './ipc.js'
import { encodeHistogram, latencyHistogram } from './latency.js'
import { connectAll } from './connect-all.js'
import { RawClient } from './raw-client.js'

/**
 * A load-generator process (child of the throughput section): holds its share of the sender and
 * recipient clients, offers messages open-loop at the rate it is told, and measures each message
 * from its PUBLISH to the recipient's receipt. Sender and recipient of a pair live in the same
 * process, so both timestamps come from one clock.
 */

/** `recipientPort`: where the recipients connect (a cluster's other node); the senders use `port`. */
export interface SetupMessage extends WorkerMessage { type: 'setup', kind: BrokerKind, port: number, recipientPort?: number, pairs: Pair[], encrypted?: boolean }
export interface StepMessage extends WorkerMessage { type: 'step', rate: number, durationMs: number, graceMs: number }
export interface StepDone extends WorkerMessage {
  type: 'stepDone'
  /** Messages due at the offered rate during the step. */
  offered: number
  sent: number
  /** Due but not sent because the sender already had MAX_IN_FLIGHT unacknowledged: the broker fell behind. */
  blocked: number
  acked: number
  /** Of this step's messages, delivered before the grace period ended. */
  delivered: number
  histogram: string
  /** The same latencies by the second of the step in which each message was sent (index 0 = its first second). */
  perSecond: string[]
  /** CPU time of this process while it offered the step's messages. */
  cpuMs: number
}

/** Unacknowledged QoS 1 publishes a sender may have; beyond this the broker is not keeping up. */
const MAX_IN_FLIGHT = 1000
const TICK_MS = 2

interface Live { pair: Pair, sender: RawClient }

let kind: BrokerKind = 'lowband'
let encrypted = false
const live: Live[] = []
const sentAt = new Map<number, number>()
let nextNumber = 1
let step: { first: number, started: number, delivered: number, histogram: Histogram, perSecond: Histogram[] } | undefined

async function setup (message: SetupMessage): Promise<WorkerMessage> {
  kind = message.kind
  encrypted = message.encrypted === true
  const publishKeys = encrypted && kind === 'lowband'
  const connect = async (account: Pair['sender'], port = message.port): Promise<RawClient> => {
    const client = await RawClient.connect({ port, clientId: account.clientId, username: account.username, password: account.password, clean: false, keepalive: 60 })
    if (publishKeys) await publishBenchKeys(client, account.userId)
    return client
  }
  // Recipients first: lowband refuses a send to a user that has never connected. They stay open
  // through their sockets until this process exits.
  await connectAll(message.pairs, 20, async (pair) => {
    const client = await connect(pair.recipient, message.recipientPort)
    client.onMessage = (topic, payload) => received(topic, payload, pair.recipient.userId)
    await client.subscribe(pair.recipientFilter, 1)
    return client
  })
  const senders = await connectAll(message.pairs, 20, async (pair) => {
    const client = await connect(pair.sender)
    if (pair.senderFilter !== undefined) await client.subscribe(pair.senderFilter, 1)
    return client
  })
  message.pairs.forEach((pair, i) => live.push({ pair, sender: senders[i]! }))
  return { type: 'ready' }
}

function received (topic: string, payload: Buffer, recipient: string): void {
  const n = deliveredNumber(kind, topic, payload, recipient)
  if (n === undefined) return
  const started = sentAt.get(n)
  if (started === undefined) return
  sentAt.delete(n)
  if (step === undefined || n < step.first) return
  step.delivered++
  const us = Math.max(1, Math.round((performance.now() - started) * 1000))
  step.histogram.recordValue(us)
  const second = Math.max(0, Math.floor((started - step.started) / 1000))
  ;(step.perSecond[second] ??= latencyHistogram()).recordValue(us)
}

async function runStep (message: StepMessage): Promise<StepDone> {
  const histogram = latencyHistogram()
  const first = nextNumber
  const started = performance.now()
  step = { first, started, delivered: 0, histogram, perSecond: [] }
  const cpuBefore = process.cpuUsage()
  let sent = 0
  let blocked = 0
  let acked = 0
  let cursor = 0
  const onAck = (): void => { acked++ }
  const offered = Math.floor(message.durationMs * message.rate / 1000)
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      const elapsed = Math.min(performance.now() - started, message.durationMs)
      const due = Math.floor(elapsed * message.rate / 1000)
      while (sent + blocked < due) {
        const { pair, sender } = live[cursor++ % live.length]!
        if (sender.inFlight >= MAX_IN_FLIGHT) { blocked++; continue }
        const n = nextNumber++
        sentAt.set(n, performance.now())
        sender.publish(pair.sendTopic, chatPayload(n, pair.recipient.userId, encrypted), 1, onAck)
        sent++
      }
      if (elapsed >= message.durationMs) {
        clearInterval(timer)
        resolve()
      }
    }, TICK_MS)
  })
  const cpu = process.cpuUsage(cpuBefore) // the offering window only
  const graceEnd = performance.now() + message.graceMs
  while (step.delivered < sent && performance.now() < graceEnd) await new Promise((resolve) => setTimeout(resolve, 20))
  // Whatever is still undelivered counts as lost for this step; later arrivals are ignored.
  for (let n = first; n < nextNumber; n++) sentAt.delete(n)
  const done: StepDone = { type: 'stepDone', offered, sent, blocked, acked, delivered: step.delivered, histogram: encodeHistogram(histogram), perSecond: Array.from(step.perSecond, (h) => h === undefined ? '' : encodeHistogram(h)), cpuMs: (cpu.user + cpu.system) / 1000 }
  histogram.destroy()
  for (const h of step.perSecond) h?.destroy()
  step = undefined
  return done
}

// The parent ends a generator by disconnecting its IPC channel (see serve); its sockets close with it.
serve(async (message) => {
  switch (message.type) {
    case 'setup': return setup(message as SetupMessage)
    case 'step': return runStep(message as StepMessage)
    default: throw new Error(`unknown message ${message.type}`)
  }
})
