import type { MqttClient } from 'mqtt'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { InboxMessage, PresenceUpdate, SendRequest } from '../../protocol/envelopes.js'
import { GroupInfo, OP } from '../../protocol/requests.js'
import { ClusterKeys, encodeEvent } from '../../broker/cluster/wire.js'
import { request, sendRaw } from '../helpers/chat.js'
import { REDIS_URL, startCluster, type TestCluster } from '../helpers/cluster.js'
import { Inbox } from '../helpers/messages.js'
import { HAS_REDIS_SERVER, startPrivateRedis, type PrivateRedis } from '../helpers/redis-server.js'

const readyz = async (cluster: TestCluster, i: number) => (await fetch(`http://127.0.0.1:${cluster.nodes[i]!.ports.http}/readyz`)).status
const outages = (cluster: TestCluster, i: number) => cluster.nodes[i]!.logs.filter((line) => line.includes('"msg":"Redis unreachable')).length

describe.skipIf(!HAS_REDIS_SERVER)('a cluster node while its Redis is unreachable (a private redis-server, started and killed here)', () => {
  let redis: PrivateRedis
  let cluster: TestCluster
  beforeAll(async () => {
    redis = await startPrivateRedis()
    cluster = await startCluster(['a'], { redis: redis.url })
  })
  afterAll(async () => {
    await cluster.close()
    await redis.kill()
  })

  it('refuses group sends without a PUBACK, keeps connections and 1:1 sends, is not ready, logs the outage once, and recovers by itself', async () => {
    const node = cluster.nodes[0]!
    const alice = await node.device('alice', 'phone', { clean: false })
    const bob = await node.device('bob', 'phone')
    const bobs = new Inbox(bob)
    const group = GroupInfo.fromCbor((await request(alice, 'alice', OP.createGroup, new Map<number, unknown>([[1, 'g'], [2, ['bob']]]))).result).id
    expect(await readyz(cluster, 0)).toBe(200)

    await redis.kill()
    await until(async () => await readyz(cluster, 0) === 503)
    // A 1:1 message depends on the store only: stored, acknowledged, delivered on this node.
    await sendRaw(alice, 'bob', 'still here')
    await bobs.until(() => bobs.on('inbox').some((r) => InboxMessage.decode(r.payload).body === 'still here'))
    // A group message needs the group's lease in Redis: not stored, so no PUBACK — the connection
    // is closed and the device resends.
    const closed = new Promise<void>((resolve) => alice.once('close', () => resolve()))
    const acked = alice.publishAsync('c/s', Buffer.from(SendRequest.encode({ clientMsgId: 'g1', group, body: 'in the outage' })), { qos: 1 }).then(() => true, () => false)
    await closed
    expect(await Promise.race([acked, new Promise((resolve) => setTimeout(() => resolve('no puback'), 200))])).toBe('no puback')
    expect(bob.connected).toBe(true)

    await redis.start()
    await until(async () => await readyz(cluster, 0) === 200)
    await until(async () => cluster.nodes[0]!.logs.some((line) => line.includes('Redis reachable again')))
    expect(outages(cluster, 0)).toBe(1)
    const again = await node.device('alice', 'phone', { clean: false })
    await again.publishAsync('c/s', Buffer.from(SendRequest.encode({ clientMsgId: 'g1', group, body: 'in the outage' })), { qos: 1 })
    await bobs.until(() => bobs.on('inbox').some((r) => InboxMessage.decode(r.payload).body === 'in the outage'))
  })
})

describe.skipIf(REDIS_URL === undefined)('a cluster node that stops beating (needs LOWBAND_TEST_REDIS_URL: npm test starts one)', () => {
  let cluster: TestCluster
  let admin: import('ioredis').Redis
  beforeAll(async () => {
    cluster = await startCluster(['a'], { nodeHeartbeat: 0.4 })
    const { Redis } = await import('ioredis')
    admin = new Redis(REDIS_URL!)
  })
  afterAll(async () => {
    admin.disconnect()
    await cluster.close()
  })

  it('takes its devices offline everywhere and records their last seen', async () => {
    const keys = new ClusterKeys(cluster.name)
    const watcher: MqttClient = await cluster.nodes[0]!.device('lee', 'phone')
    const seen = new Inbox(watcher)
    // A node "ghost" with one device joins, beats once, then falls silent as a SIGKILLed node does.
    const [seconds, micros] = await admin.time() as unknown as [string, string]
    await admin.multi().sadd(keys.devices('ghost'), 'kim/phone').zadd(keys.nodes, Number(seconds) * 1000 + Math.floor(Number(micros) / 1000), 'ghost')
      .publish(keys.events, encodeEvent({ node: 'ghost', sync: true })).exec()
    await watcher.subscribeAsync('u/lee/p/kim', { qos: 0 })
    const states = () => seen.on('/p/kim').map((r) => PresenceUpdate.decode(r.payload))
    await seen.until(() => states().some((s) => s.online))
    await seen.until(() => states().at(-1)?.online === false)
    expect(states().at(-1)!.lastSeen).toBeGreaterThan(0)
    expect(await admin.exists(keys.devices('ghost'))).toBe(0)
  })
})

async function until (condition: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!await condition()) {
    if (Date.now() > deadline) throw new Error('timed out')
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}
