import { decodeCbor } from '../protocol/cbor.js'
import { InboxMessage, SendRequest } from '../protocol/envelopes.js'
import { GroupInfo, OP, Request, Response } from '../protocol/requests.js'
import { COMMAND, inboxTopic, responseTopic, userSubtree } from '../protocol/topics.js'
import { startBroker } from './brokers.js'
import { connectAll } from './connect-all.js'
import { latencyHistogram, summarize, type LatencySummary } from './latency.js'
import { sleep } from './proc.js'
import { RawClient } from './raw-client.js'
import { mintTokens } from './tokens.js'

export const GROUP_SIZE = 256

export interface FanoutReport {
  members: number
  messages: number
  /** From the sender's PUBACK (✓ stored) to the last member's delivery. Goal p99 ≤ 100 ms. */
  fromPuback: LatencySummary
  /** From the sender's PUBLISH to the last member's delivery (includes storing). */
  fromPublish: LatencySummary
}

/**
 * One 256-member group, every member online on loopback with a persistent session (as the SDK
 * connects, so each delivery also yields a "delivered" PUBACK the broker aggregates). Messages go
 * one at a time, the next once the last member has the previous one, so each is timed alone.
 */
export async function measureFanout (messages: number, log: (line: string) => void): Promise<FanoutReport> {
  const broker = await startBroker('lowband')
  const users = Array.from({ length: GROUP_SIZE }, (_, i) => `m${String(i).padStart(3, '0')}`)
  const tokens = await mintTokens(users)
  let current = ''
  let pending = new Set<string>()
  let lastArrival = 0
  let allArrived: () => void = () => undefined
  const clients = await connectAll(users, 32, async (user) => {
    const client = await RawClient.connect({ port: broker.port, clientId: `${user}/phone`, username: user, password: tokens.get(user)!, clean: false, keepalive: 600 })
    await client.subscribe(userSubtree(user), 1)
    return client
  })
  try {
    const [sender] = clients as [RawClient]
    const creator = users[0]!
    users.forEach((user, i) => {
      if (i === 0) return
      clients[i]!.onMessage = (topic, payload) => {
        if (topic !== inboxTopic(user) || !pending.has(user)) return
        // The body alone, without schema validation: the clock is running.
        const body = InboxMessage.rawField(decodeCbor(payload), 'body')
        if (body !== current) return
        pending.delete(user)
        if (pending.size === 0) { lastArrival = performance.now(); allArrived() }
      }
    })
    const group = await createGroup(sender, creator, users.slice(1))
    log(`fanout: group ${group} of ${users.length} members created`)
    await sleep(500) // the "created" system message reaches every member first

    const fromPuback = latencyHistogram()
    const fromPublish = latencyHistogram()
    for (let i = 0; i < messages; i++) {
      current = `fan-out message ${String(i).padStart(4, '0')}`
      pending = new Set(users.slice(1))
      const arrived = new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`message ${i}: ${pending.size} members had nothing after 10 s`)), 10_000)
        allArrived = () => { clearTimeout(timer); resolve() }
      })
      const published = performance.now()
      await sender.publishAsync(COMMAND.send, Buffer.from(SendRequest.encode({ clientMsgId: i + 1, group, body: current })), 1)
      const acked = performance.now()
      await arrived
      // The last delivery can precede the PUBACK (fan-out is not awaited): that counts as 0.
      fromPuback.recordValue(Math.max(1, Math.round((lastArrival - acked) * 1000)))
      fromPublish.recordValue(Math.max(1, Math.round((lastArrival - published) * 1000)))
      await sleep(5)
    }
    const report = { members: users.length, messages, fromPuback: summarize(fromPuback), fromPublish: summarize(fromPublish) }
    fromPuback.destroy()
    fromPublish.destroy()
    return report
  } finally {
    for (const client of clients) client.destroy()
    await broker.stop()
  }
}

/** Request op 10 (createGroup) on c/q; resolves with the new group's id from the response on u/<creator>/q. */
async function createGroup (client: RawClient, creator: string, members: string[]): Promise<string> {
  const answer = new Promise<Response>((resolve) => {
    client.onMessage = (topic, payload) => {
      if (topic === responseTopic(creator)) resolve(Response.decode(payload))
    }
  })
  await client.publishAsync(COMMAND.request, Buffer.from(Request.encode({ rid: 1, op: OP.createGroup, args: new Map<number, unknown>([[1, 'bench'], [2, members]]) })), 1)
  const response = await answer
  if (response.code !== undefined) throw new Error(`createGroup failed: code ${response.code} ${response.detail ?? ''}`)
  return GroupInfo.fromCbor(response.result).id
}
