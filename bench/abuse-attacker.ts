import { connect as netConnect, type Socket } from 'node:net'
import mqttPacket, { type Packet } from 'mqtt-packet'
import { encodeCbor } from '../protocol/cbor.js'
import { InboxMessage, ResumeRequest, SendRequest } from '../protocol/envelopes.js'
import { COMMAND, inboxTopic, userSubtree } from '../protocol/topics.js'
import { serve, type WorkerMessage } from './ipc.js'
import { sleep } from './proc.js'
import { RawClient } from './raw-client.js'

/**
 * The abuse section's attacker (a child process, so its sockets and CPU never share an event loop
 * with the clients whose latency is measured). Three attacks, one at a time, each started and
 * stopped by the parent:
 *
 * - `slow-reader`: a device subscribes and stops reading while feeders send to it at their rate
 *   limit; each time the broker closes it for its backlog it comes back and stalls again.
 * - `payloads`: three connections send the costliest payloads the protocol lets through or has to
 *   refuse, each at its connection's rate limits.
 * - `flood`: TCP sockets that never send CONNECT, from many source addresses, kept up to the
 *   broker's connection cap (reopened as the CONNECT timeout closes them).
 */

export type Attack = 'slow-reader' | 'payloads' | 'flood'

export interface PrepareMessage extends WorkerMessage {
  type: 'prepare'
  port: number
  httpPort: number
  tokens: Record<string, string>
  /** The broker's per-connection limits, which the attackers pace themselves to. */
  rateLimit: number
  rateBytes: number
  /** Sockets the flood holds open at most: the broker's cap less the clients already connected. */
  floodSockets: number
  maxPendingPerIp: number
}
export interface StartMessage extends WorkerMessage { type: 'start', attack: Attack }
export interface StopMessage extends WorkerMessage { type: 'stop' }
export interface VerifyMessage extends WorkerMessage { type: 'verify' }
/** After every phase: of the messages the broker acknowledged to the slow reader, how many its inbox holds. */
export interface Verified extends WorkerMessage { type: 'verified', acknowledged: number, replayed: number }
export interface AttackStats extends WorkerMessage {
  type: 'stopped'
  attack: Attack
  /** What the attack did: messages fed and acknowledged, backlog closures, payloads sent, sockets held… */
  counts: Record<string, number>
}

export const SLOW_USER = 'slowreader'
export const FEEDERS = Array.from({ length: 12 }, (_, i) => `feeder${i}`)
export const PAYLOAD_SENDERS = ['costly0', 'costly1', 'costly2']
/** Every attacker account, to mint tokens for. */
export const ATTACKER_USERS = [SLOW_USER, ...FEEDERS, ...PAYLOAD_SENDERS]

/**
 * Each feeder's message body: large enough that the byte rate, not the count, paces it, so the
 * slow reader's buffers fill with few messages to store (the kernel alone takes ~4 MiB on loopback
 * before the broker's own buffer grows).
 */
const FEED_BODY = 'f'.repeat(16_000)

let prepared: PrepareMessage | undefined
let running: { attack: Attack, stop: () => Promise<Record<string, number>> } | undefined
/** Messages to the slow reader that the broker acknowledged (PUBACK), over every slow-reader attack. */
let acknowledgedToSlowReader = 0
const clients = new Map<string, RawClient>()

async function prepare (message: PrepareMessage): Promise<WorkerMessage> {
  prepared = message
  // Every attacker connects once, so the broker knows each user (a send to an unknown one is refused).
  for (const user of ATTACKER_USERS) {
    clients.set(user, await RawClient.connect({ port: message.port, clientId: `${user}/bot`, username: user, password: message.tokens[user]!, clean: true, keepalive: 600 }))
  }
  clients.get(SLOW_USER)!.destroy()
  clients.delete(SLOW_USER)
  return { type: 'prepared' }
}

async function start (attack: Attack): Promise<WorkerMessage> {
  if (prepared === undefined) throw new Error('not prepared')
  if (running !== undefined) throw new Error(`${running.attack} is still running`)
  const stop = attack === 'slow-reader' ? await slowReader(prepared) : attack === 'payloads' ? costlyPayloads(prepared) : await flood(prepared)
  running = { attack, stop }
  return { type: 'started' }
}

async function stopRunning (): Promise<AttackStats> {
  if (running === undefined) throw new Error('nothing runs')
  const { attack, stop } = running
  running = undefined
  return { type: 'stopped', attack, counts: await stop() }
}

/** Calls `send` about `perSecond` times a second until stopped (a few at a time: timers are coarse). */
function paced (perSecond: number, send: () => void): () => void {
  const started = performance.now()
  let sent = 0
  const timer = setInterval(() => {
    const due = Math.floor((performance.now() - started) / 1000 * perSecond)
    for (; sent < due; sent++) send()
  }, 20)
  return () => clearInterval(timer)
}

/** The rate a connection can keep under both of its limits, with a margin so it is never refused for pace. */
function sustainable (config: PrepareMessage, bytes: number): number {
  return 0.95 * Math.min(config.rateLimit, config.rateBytes / bytes)
}

/** The broker's count of connections it closed, by reason (lowband_connections_closed_total); none from flood-probe's idle server (no /metrics, port 0). */
async function closedByBroker (config: PrepareMessage): Promise<Record<string, number>> {
  if (config.httpPort === 0) return {}
  const metrics = await (await fetch(`http://127.0.0.1:${config.httpPort}/metrics`)).text()
  return Object.fromEntries([...metrics.matchAll(/^lowband_connections_closed_total\{reason="(\w+)"\} (\d+)$/gm)].map(([, reason, count]) => [reason!, Number(count)]))
}

async function slowReader (config: PrepareMessage): Promise<() => Promise<Record<string, number>>> {
  let stalled = await stalledDevice(config)
  let closures = 0
  let number = 0
  const backlogClosures = async (): Promise<number> => (await closedByBroker(config)).backlog ?? 0
  const closedBefore = await backlogClosures()
  const stops = FEEDERS.map((feeder) => {
    const client = clients.get(feeder)!
    return paced(sustainable(config, FEED_BODY.length + 20), () => {
      client.publish(COMMAND.send, Buffer.from(SendRequest.encode({ clientMsgId: `${feeder}-${++number}`, to: SLOW_USER, body: FEED_BODY })), 1, () => { acknowledgedToSlowReader++ })
    })
  })
  // When the broker has closed it for its backlog, it comes back and stalls again.
  let watching = true
  const watcher = (async () => {
    while (watching) {
      await sleep(250)
      const now = await backlogClosures() - closedBefore
      if (now > closures && watching) {
        closures = now
        stalled.destroy()
        stalled = await stalledDevice(config)
      }
    }
  })()
  return async () => {
    for (const stop of stops) stop()
    watching = false
    await watcher
    stalled.destroy()
    return { fed: number, backlogClosures: closures }
  }
}

/** The slow reader: subscribed to its inbox, and then reading nothing. */
async function stalledDevice (config: PrepareMessage): Promise<Socket> {
  const socket = netConnect(config.port, '127.0.0.1')
  socket.on('error', () => undefined)
  const parser = mqttPacket.parser({ protocolVersion: 4 })
  const subscribed = new Promise<void>((resolve) => parser.on('packet', (packet: Packet) => { if (packet.cmd === 'suback') resolve() }))
  socket.on('data', (chunk) => parser.parse(chunk))
  socket.write(mqttPacket.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clientId: `${SLOW_USER}/phone`, clean: false, keepalive: 0, username: SLOW_USER, password: Buffer.from(config.tokens[SLOW_USER]!) }))
  socket.write(mqttPacket.generate({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: userSubtree(SLOW_USER), qos: 1 }] }))
  await subscribed
  socket.removeAllListeners('data')
  socket.pause()
  return socket
}

/** How many distinct messages the slow reader's inbox holds, replayed to a device that reads. */
async function replayedCount (config: PrepareMessage): Promise<number> {
  const reader = await RawClient.connect({ port: config.port, clientId: `${SLOW_USER}/reader`, username: SLOW_USER, password: config.tokens[SLOW_USER]!, clean: true, keepalive: 600 })
  const seqs = new Set<number>()
  let synced = false
  reader.onMessage = (topic, payload) => {
    if (topic === inboxTopic(SLOW_USER)) seqs.add(InboxMessage.decode(payload).seq)
    else if (topic.endsWith('/y')) synced = true
  }
  await reader.subscribe(userSubtree(SLOW_USER), 1)
  await reader.publishAsync(COMMAND.resume, Buffer.from(ResumeRequest.encode({ cursor: 0 })), 1)
  const deadline = performance.now() + 120_000
  while (!synced && performance.now() < deadline) await sleep(100)
  reader.destroy()
  return seqs.size
}

/** `{1: 'costly', 2: 'nobody', 3: …}`: a SendRequest up to its body. */
const SEND_HEAD = Buffer.from('a3' + '01' + '66636f73746c79' + '02' + '666e6f626f6479' + '03', 'hex')

/**
 * What costs the broker most per payload: 64 KiB of empty maps (the issue's, refused at the first
 * excess), a body that is the largest map a payload may hold (2045 items, decoded, then refused by
 * the schema), and 64 KiB of nesting.
 */
export const COSTLY_PAYLOADS: readonly Buffer[] = [
  Buffer.concat([SEND_HEAD, Buffer.from([0x99, 0xff, 0x78]), Buffer.alloc(65_400, 0xa0)]),
  Buffer.from(encodeCbor(new Map<number, unknown>([[1, 'costly'], [2, 'nobody'], [3, new Map(Array.from({ length: 1019 }, (_, i) => [i, i]))]]))),
  Buffer.concat([SEND_HEAD, Buffer.alloc(65_400, 0x81), Buffer.from([0x00])])
]

function costlyPayloads (config: PrepareMessage): () => Promise<Record<string, number>> {
  let sent = 0
  const stops = PAYLOAD_SENDERS.map((user, i) => {
    const client = clients.get(user)!
    const payload = COSTLY_PAYLOADS[i]!
    return paced(sustainable(config, payload.length), () => { client.publish(COMMAND.send, payload, 0); sent++ })
  })
  return async () => {
    for (const stop of stops) stop()
    return { payloadsSent: sent }
  }
}

async function flood (config: PrepareMessage): Promise<() => Promise<Record<string, number>>> {
  const closedBefore = await closedByBroker(config)
  const perAddress = Math.min(100, config.maxPendingPerIp)
  let held = 0
  let peak = 0
  let opened = 0
  let refused = 0
  let stopping = false
  const sockets = new Set<Socket>()
  const open = (slot: number): void => {
    if (stopping) return
    // 127.1.0.0/16: every address is loopback, each with its own ephemeral ports and pending count.
    const n = Math.floor(slot / perAddress)
    const socket = netConnect({ port: config.port, host: '127.0.0.1', localAddress: `127.1.${Math.floor(n / 250)}.${1 + (n % 250)}` })
    opened++
    sockets.add(socket)
    let connectedAt = 0
    socket.on('error', () => undefined)
    socket.once('connect', () => {
      connectedAt = performance.now()
      held++
      peak = Math.max(peak, held)
    })
    socket.once('close', () => {
      sockets.delete(socket)
      if (connectedAt > 0) held--
      // Closed within moments of connecting: refused at the cap, not timed out.
      if (connectedAt > 0 && performance.now() - connectedAt < 1000) refused++
      setTimeout(() => open(slot), 1000)
    })
  }
  for (let slot = 0; slot < config.floodSockets; slot++) {
    open(slot)
    if (slot % 200 === 199) await sleep(10) // a SYN burst overflows the listen backlog
  }
  return async () => {
    stopping = true
    for (const socket of sockets) socket.destroy()
    // What the broker counted: sockets refused over each cap, and held ones closed at the CONNECT timeout.
    const closed = await closedByBroker(config)
    const by = (reason: string): number => (closed[reason] ?? 0) - (closedBefore[reason] ?? 0)
    return {
      socketsOpened: opened,
      peakHeld: peak,
      refusedAtOnce: refused,
      brokerRefusedMaxPending: by('max_pending'),
      brokerRefusedMaxConnections: by('max_connections'),
      brokerRefusedPerAddress: by('pending_per_ip'),
      brokerTimedOut: by('connect_timeout')
    }
  }
}

serve(async (message) => {
  switch (message.type) {
    case 'prepare': return prepare(message as PrepareMessage)
    case 'start': return start((message as StartMessage).attack)
    case 'stop': return stopRunning()
    case 'verify': return { type: 'verified', acknowledged: acknowledgedToSlowReader, replayed: prepared === undefined ? 0 : await replayedCount(prepared) } satisfies Verified
    default: throw new Error(`unknown message ${message.type}`)
  }
})
