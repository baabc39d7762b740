import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { LowbandClient, type ChatMessage, type ClientOptions, type Presence, type SendResult } from '../../clients/sdk/index.js'
import { mintDeviceToken, secretFromText } from '../../protocol/token.js'
import { SECRET } from '../helpers/broker.js'
import { TestDatabases } from '../helpers/postgres-databases.js'
import { spawnBroker, type BrokerProcess } from '../helpers/process.js'

const REDIS_URL = process.env.LOWBAND_TEST_REDIS_URL
const POSTGRES_URL = process.env.LOWBAND_TEST_POSTGRES_URL
/** The nodes' heartbeat, s: short enough for a test, long enough that the design's 1.75 heartbeats leave a second of margin under 2 on a loaded CI machine. */
const HEARTBEAT = 4
/** Sends of one stream awaiting their acknowledgement at once: a steady load that paces itself to the machine. */
const WINDOW = 4

/**
 * Keeps WINDOW numbered texts in flight, the next one sent as one is acknowledged, and keeps the
 * texts the broker acknowledged as stored: those are the ones that must arrive.
 */
class Traffic {
  readonly acked: string[] = []
  readonly #pending: Array<Promise<void>> = []
  readonly #label: string
  readonly #send: (text: string) => Promise<SendResult>
  #stopped = false

  constructor (label: string, send: (text: string) => Promise<SendResult>) {
    this.#label = label
    this.#send = send
    for (let i = 0; i < WINDOW; i++) this.#next()
  }

  /** Stops sending; resolves with the number sent once every send was acknowledged (a sender whose node died resends). */
  async stop (): Promise<number> {
    this.#stopped = true
    await Promise.all(this.#pending)
    return this.#pending.length
  }

  #next (): void {
    if (this.#stopped) return
    const text = `${this.#label} ${this.#pending.length + 1}`
    this.#pending.push(this.#send(text).then(() => {
      this.acked.push(text)
      this.#next()
    }))
  }
}

/** What one device's app was handed, by text: every message must be there exactly once. */
function received (client: LowbandClient): Map<string, number> {
  const texts = new Map<string, number>()
  client.onMessage((message: ChatMessage) => {
    if (message.text !== undefined) texts.set(message.text, (texts.get(message.text) ?? 0) + 1)
  })
  return texts
}

describe.skipIf(REDIS_URL === undefined || POSTGRES_URL === undefined)('SIGKILL of a cluster node mid-traffic: real `lowband start` processes (needs LOWBAND_TEST_REDIS_URL and LOWBAND_TEST_POSTGRES_URL: npm test starts both)', () => {
  const databases = new TestDatabases(POSTGRES_URL ?? '')
  const clients: LowbandClient[] = []
  const nodes: BrokerProcess[] = []
  let dir: string
  let nodeArgs: (nodeId: string) => string[]

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lowband-nodes-'))
    const postgres = await databases.create()
    const cluster = `test-${randomBytes(4).toString('hex')}`
    nodeArgs = (nodeId) => ['--data-dir', join(dir, nodeId), '--postgres', postgres, '--redis', REDIS_URL!, '--node-id', nodeId,
      '--cluster-name', cluster, '--node-heartbeat', String(HEARTBEAT)]
  })
  afterAll(async () => {
    await Promise.all(clients.map((client) => client.close()))
    for (const node of nodes) node.child.kill('SIGKILL')
    await Promise.all(nodes.map((node) => node.exited))
    await databases.dropAll()
    await rm(dir, { recursive: true, force: true })
  })

  const start = async (nodeId: string): Promise<string> => {
    const node = await spawnBroker(nodeArgs(nodeId), { LOWBAND_JWT_SECRET: SECRET })
    nodes.push(node)
    return `mqtt://127.0.0.1:${node.ports.tcp}`
  }
  /** A connected SDK client on the first of `urls`; it moves on to the next when its node dies. */
  const device = async (userId: string, urls: string[], options: Partial<ClientOptions> = {}): Promise<LowbandClient> => {
    const token = await mintDeviceToken({ userId, ttl: '1h', secret: secretFromText(SECRET) })
    const client = new LowbandClient({ urls, random: () => 0, userId, deviceId: 'phone', token, backoff: { baseMs: 50, capMs: 200 }, ...options })
    clients.push(client)
    await client.connect()
    await client.synced()
    return client
  }

  it('loses no acknowledged message 1:1 or in a group, hands each to the app once after the devices move, takes the dead node\'s devices offline within 2 × the heartbeat, and serves again once restarted', async () => {
    const a = await start('a')
    const b = await start('b')
    const bNode = nodes[1]!
    // Senders on node a; the receivers on node b, with node a as their second URL.
    const alice = await device('alice', [a])
    const bob = await device('bob', [b, a])
    const carol = await device('carol', [b, a])
    const dave = await device('dave', [b, a])
    // Erin knows only node b: she stays away once it dies, so her presence must turn offline.
    const erin = await device('erin', [b], { backoff: { baseMs: 60_000, capMs: 60_000 } })
    const lee = await device('lee', [a])
    const group = await alice.createGroup('crew', ['carol', 'dave'])
    const erinPresence: Array<Presence & { at: number }> = []
    lee.onPresence((presence) => { if (presence.contact === 'erin') erinPresence.push({ ...presence, at: Date.now() }) })
    lee.watch('erin')
    await until(() => erinPresence.at(-1)?.online === true)
    const bobGot = received(bob)
    const carolGot = received(carol)
    const daveGot = received(dave)
    const aliceGot = received(alice)

    const toBob = new Traffic('to bob', (text) => alice.send('bob', text))
    const toGroup = new Traffic('to crew', (text) => alice.sendToGroup(group.id, text))
    // Bob sends too: what was in flight on node b at the kill is resent to node a and deduplicated there.
    const fromBob = new Traffic('from bob', (text) => bob.send('alice', text))
    await until(() => bobGot.size >= 20 && carolGot.size >= 20 && aliceGot.size >= 20)
    const ackedAtKill = toBob.acked.length
    const killedAt = Date.now()
    bNode.child.kill('SIGKILL')
    await bNode.exited
    // The traffic goes on while the receivers move to node a, and for a while after.
    await until(() => [bob, carol, dave].every((client) => client.status.type === 'connected'))
    await until(() => toBob.acked.length >= ackedAtKill + 30)
    const sent = await Promise.all([toBob.stop(), toGroup.stop(), fromBob.stop()])
    expect(sent.every((count) => count > 20)).toBe(true)

    const complete = (got: Map<string, number>, traffic: Traffic) => traffic.acked.every((text) => got.has(text))
    await until(() => complete(bobGot, toBob) && complete(carolGot, toGroup) && complete(daveGot, toGroup) && complete(aliceGot, fromBob))
    for (const [got, traffic] of [[bobGot, toBob], [carolGot, toGroup], [daveGot, toGroup], [aliceGot, fromBob]] as const) {
      expect(traffic.acked.filter((text) => got.get(text) !== 1)).toEqual([])
      expect([...got.values()].every((count) => count === 1)).toBe(true)
    }

    await until(() => erinPresence.at(-1)?.online === false)
    const offline = erinPresence.at(-1)!
    expect(offline.lastSeen).toBeGreaterThan(0)
    expect(offline.at - killedAt).toBeLessThanOrEqual(2 * HEARTBEAT * 1000)
    await erin.close()

    // Node b again, under its own id: it serves a device, to and from a device on node a.
    const b2 = await start('b')
    const frank = await device('frank', [b2])
    const frankGot = received(frank)
    await alice.send('frank', 'welcome back')
    await frank.send('bob', 'hello from the restarted node')
    await until(() => frankGot.has('welcome back') && bobGot.has('hello from the restarted node'))
  }, 90_000)
})

async function until (condition: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('timed out')
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}
