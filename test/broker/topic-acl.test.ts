import { randomUUID } from 'node:crypto'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { IPublishPacket } from 'mqtt-packet'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadConfig } from '../../broker/config.js'
import { ConfigError } from '../../broker/config-error.js'
import { startTestBroker, type TestBroker } from '../helpers/broker.js'
import { runCli } from '../helpers/process.js'
import { tempDirs } from '../helpers/temp-dirs.js'
import { RawClient } from '../conformance/raw-client.js'

const ACL = `# anonymous clients
topic readwrite sentinel/#
topic read public/#
topic deny public/hidden
pattern readwrite devices/%c/#

user alice
topic readwrite public/#
topic readwrite sentinel/#
`

/** A topic every client here may use, for RawClient.drain. */
const sentinel = (): string => `sentinel/${randomUUID()}`

const publish = (topic: string, payload: string, extra: Partial<IPublishPacket> = {}): IPublishPacket =>
  ({ cmd: 'publish', topic, payload: Buffer.from(payload), qos: 1, messageId: 1, retain: false, dup: false, ...extra })

describe('--acl FILE under --topic-policy open', () => {
  const newDir = tempDirs('lowband-acl-')
  let broker: TestBroker
  let aclFile: string
  beforeAll(async () => {
    aclFile = join(await newDir(), 'lowband.acl')
    await writeFile(aclFile, ACL)
    broker = await startTestBroker({ topicPolicy: 'open', allowAnonymous: true, acl: aclFile })
  })
  afterAll(() => broker.close())

  const anonymous = async (clientId: string): Promise<RawClient> => (await RawClient.connect(broker.ports.tcp, { clientId })).client
  const alice = async (): Promise<RawClient> => {
    const { client, connack } = await RawClient.connect(broker.ports.tcp, { clientId: 'alice/dev', username: 'alice', password: Buffer.from(await broker.token('alice')) })
    expect(connack.returnCode).toBe(0)
    return client
  }

  it('answers a SUBSCRIBE the rules do not grant with 0x80, filter by filter', async () => {
    const reader = await anonymous('reader-1')
    expect(await reader.subscribe(1, { topic: 'public/#', qos: 1 }, { topic: 'private/#', qos: 1 }, { topic: '#', qos: 0 }, { topic: 'public/hidden', qos: 0 }))
      .toEqual([1, 128, 128, 128])
    await reader.disconnect()
  })

  it('acknowledges a PUBLISH the rules deny and drops it', async () => {
    const reader = await alice()
    expect(await reader.subscribe(1, { topic: 'public/#', qos: 1 })).toEqual([1])
    const writer = await anonymous('writer-1') // anonymous clients may only read public/#
    writer.send(publish('public/news', 'not allowed'))
    expect((await writer.next('puback')).messageId).toBe(1)
    expect(await reader.drain(writer, sentinel())).toEqual([])
    await Promise.all([reader.disconnect(), writer.disconnect()])
  })

  it('does not forward a message on a topic the reader may not read, retained or live', async () => {
    const writer = await alice()
    writer.send(publish('public/hidden', 'retained secret', { retain: true }))
    await writer.next('puback')
    const reader = await anonymous('reader-2')
    expect(await reader.subscribe(1, { topic: 'public/#', qos: 1 })).toEqual([1])
    writer.send(publish('public/hidden', 'live secret', { messageId: 2 }))
    await writer.next('puback')
    writer.send(publish('public/news', 'for everyone', { messageId: 3 }))
    await writer.next('puback')
    const got = await reader.nextPublish()
    expect([got.topic, got.payload.toString()]).toEqual(['public/news', 'for everyone'])
    reader.send({ cmd: 'puback', messageId: got.messageId })
    expect(await reader.drain(writer, sentinel())).toEqual([])
    await Promise.all([reader.disconnect(), writer.disconnect()])
  })

  it('drops a will on a topic the client may not publish to', async () => {
    const reader = await alice()
    const allowed = sentinel()
    expect(await reader.subscribe(1, { topic: 'public/news', qos: 1 }, { topic: allowed, qos: 1 })).toEqual([1, 1])
    const will = (topic: string): { will: { topic: string, payload: Buffer, qos: 1, retain: false } } => ({ will: { topic, payload: Buffer.from(topic), qos: 1, retain: false } })
    const denied = (await RawClient.connect(broker.ports.tcp, { clientId: 'will-1', ...will('public/news') })).client
    denied.drop()
    await denied.waitClosed()
    const permitted = (await RawClient.connect(broker.ports.tcp, { clientId: 'will-2', ...will(allowed) })).client
    permitted.drop()
    const got = await reader.nextPublish()
    expect(got.topic).toBe(allowed)
    reader.send({ cmd: 'puback', messageId: got.messageId })
    expect(await reader.drain(reader, sentinel())).toEqual([])
    await reader.disconnect()
  })

  it('substitutes the client id into pattern lines', async () => {
    const sensor = await anonymous('sensor-7')
    expect(await sensor.subscribe(1, { topic: 'devices/sensor-7/#', qos: 1 }, { topic: 'devices/sensor-8/#', qos: 1 })).toEqual([1, 128])
    sensor.send(publish('devices/sensor-7/temp', '21.5'))
    await sensor.next('puback')
    const own = await sensor.nextPublish()
    expect(own.topic).toBe('devices/sensor-7/temp')
    await sensor.disconnect()
  })

  it('leaves chat topics to lowband\'s own rules', async () => {
    const device = await alice()
    expect(await device.subscribe(1, { topic: 'u/alice/#', qos: 1 }, { topic: 'u/bob/#', qos: 1 })).toEqual([1, 128])
    await device.disconnect()
  })

  it('refuses a malformed file in one line naming --acl and the line, with exit code 2', async () => {
    const dir = await newDir()
    const bad = join(dir, 'bad.acl')
    await writeFile(bad, 'topic read public/#\ntopic sometimes public/x\n')
    const { code, stderr } = await runCli(['start', '--host', '127.0.0.1', '--port', '0', '--ws-port', '0', '--http-port', '0', '--data-dir', dir, '--topic-policy', 'open', '--acl', bad])
    expect(code).toBe(2)
    expect(stderr.trim().split('\n')).toHaveLength(1)
    expect(stderr).toContain(`--acl (LOWBAND_ACL): ${bad} line 2: unknown access "sometimes"`)
  })

  it('refuses an unreadable file, and --acl without --topic-policy open, as configuration errors', async () => {
    const dir = await newDir()
    await expect(startTestBroker({ topicPolicy: 'open', acl: join(dir, 'missing.acl') }, dir)).rejects.toThrow(/^--acl \(LOWBAND_ACL\): cannot read/)
    expect(() => loadConfig({ acl: aclFile }, {})).toThrow(ConfigError)
    expect(() => loadConfig({ acl: aclFile }, {})).toThrow('needs --topic-policy open')
  })
})
