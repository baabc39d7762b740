import { randomBytes } from 'node:crypto'
import type { MqttClient } from 'mqtt'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { SendRequest } from '../../protocol/envelopes.js'
import { GroupInfo, OP } from '../../protocol/requests.js'
import { Adversary, expectServing } from './adversary.js'
import { startTestBroker, type TestBroker } from './broker.js'
import { request, sendRaw } from './chat.js'
import { Inbox } from './messages.js'
import { withTestPostgres } from './postgres-databases.js'

/**
 * The scene of an adversarial suite (test/broker/adversarial*.test.ts): a broker, a bystander pair
 * (alice writes to bob), an attacker (mallory, a member of alice's group `group`; carol exists
 * too), and what bob had stored before any attack.
 */
export interface Arena {
  broker: TestBroker
  alice: MqttClient
  bob: Inbox
  mallory: Adversary
  group: string
  /** After a batch: the bystander pair still talks, no error was logged, everything stored before is still there. */
  expectIntact (): Promise<void>
  close (): Promise<void>
}

/** `flags` are added to the broker's (e.g. `{ postgres: url }` for the same scene on PostgreSQL). */
export async function startArena (flags: Record<string, unknown> = {}): Promise<Arena> {
  // Rates far above the probes': rate limiting has its own tests (bad-input.test.ts).
  const broker = await startTestBroker({ maxPayload: 8192, rateLimit: 100_000, rateBurst: 100_000, rateBytes: '64MiB', rateBytesBurst: '64MiB', ...flags })
  await (await broker.device('carol', 'phone')).endAsync()
  const alice = await broker.device('alice', 'phone')
  const bob = new Inbox(await broker.device('bob', 'phone'))
  const mallory = new Adversary(await broker.device('mallory', 'phone'), 'mallory')
  for (let i = 1; i <= 3; i++) await sendRaw(alice, 'bob', `before ${i}`)
  const created = await request(alice, 'alice', OP.createGroup, new Map<number, unknown>([[1, 'team'], [2, ['bob', 'mallory']]]))
  const group = GroupInfo.fromCbor(created.result).id
  for (let i = 1; i <= 2; i++) {
    await alice.publishAsync('c/s', Buffer.from(SendRequest.encode({ clientMsgId: `g${i}`, group, body: `group ${i}` })), { qos: 1 })
  }
  const stored = async (): Promise<{ direct: string[], group: string[] }> => {
    const bodies = async (peer: string, isGroup: boolean): Promise<string[]> =>
      (await broker.storage.messages.history('bob', peer, 0, 100, isGroup)).items.map(({ message }) => `${message.cseq}:${String(message.body)}`)
    return { direct: await bodies('alice', false), group: await bodies(group, true) }
  }
  const before = await stored()
  expect(before.direct).toHaveLength(3)
  expect(before.group.length).toBeGreaterThanOrEqual(3)
  let checks = 0
  return {
    broker,
    alice,
    bob,
    mallory,
    group,
    async expectIntact () {
      await expectServing(broker, alice, bob, 'bob', `check ${++checks}`)
      const now = await stored()
      expect(now.direct.slice(0, before.direct.length)).toEqual(before.direct)
      expect(now.group.slice(0, before.group.length)).toEqual(before.group)
    },
    close: () => broker.close()
  }
}

/**
 * The arena of one describe block: started before its tests (with `flags` added to the broker's),
 * checked intact after each test, closed after the last. The Arena returned reads the one started.
 */
export function useArena (flags: () => Promise<Record<string, unknown>>): Arena {
  let started: Arena | undefined
  const arena = (): Arena => {
    if (started === undefined) throw new Error('the arena is not started (use it inside a test)')
    return started
  }
  beforeAll(async () => { started = await startArena(await flags()) })
  afterAll(() => started?.close())
  // After every batch: a bystander's message still arrives, nothing was logged as an error, and
  // everything stored before the batch is still stored.
  afterEach(() => arena().expectIntact())
  return new Proxy({} as Arena, { get: (_target, key) => Reflect.get(arena(), key) })
}

/** A suite run on one store: `flags` are added to its broker's. */
export type StoreSuite = (store: string, flags: () => Promise<Record<string, unknown>>) => void

/**
 * Runs `suite` on the embedded store, on PostgreSQL (a fresh database) and on a cluster node
 * (Redis and PostgreSQL), each skipped with the reason when npm test's server is not there:
 * PostgreSQL refuses what LevelDB takes — NUL in text, index entries past 2704 bytes, numbers past
 * a column's type — and a cluster node takes other paths (Redis), so bad input is probed on all.
 */
export function onEveryStore (name: string, suite: StoreSuite): void {
  suite('the embedded store', async () => ({}))
  withTestPostgres(`${name} on PostgreSQL`, (databases) => {
    suite('PostgreSQL', async () => ({ postgres: await databases.create() }))
    const redis = process.env.LOWBAND_TEST_REDIS_URL
    if (redis === undefined || redis === '') {
      describe.skip(`${name} on a cluster node: skipped, LOWBAND_TEST_REDIS_URL is unset (npm test starts a server)`, () => { it.todo('runs on a cluster node') })
      return
    }
    // A cluster of one under a name of its own: test files run at once on one Redis.
    suite('a cluster node (Redis, PostgreSQL)', async () => ({ postgres: await databases.create(), redis, nodeId: 'n1', clusterName: `arena-${randomBytes(4).toString('hex')}` }))
  })
}
