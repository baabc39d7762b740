import { execFileSync } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { connect as netConnect, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { loadConfig } from '../../broker/config.js'
import { addressKey } from '../../broker/connection-gate.js'
import { defaultMaxConnections } from '../../broker/open-files.js'
import { connectMqtt, startTestBroker, type TestBroker } from '../helpers/broker.js'
import { sendRaw } from '../helpers/chat.js'
import { Inbox } from '../helpers/messages.js'

/** A TCP connection that never sends CONNECT; `closed` resolves when the broker closes it. */
interface Silent { socket: Socket, closed: Promise<void>, isClosed: () => boolean }

function silent (port: number, localAddress = '127.0.0.1'): Promise<Silent> {
  return new Promise((resolve, reject) => {
    const socket = netConnect({ port, host: '127.0.0.1', localAddress })
    let isClosed = false
    const closed = new Promise<void>((done) => socket.once('close', () => { isClosed = true; done() }))
    socket.on('error', () => undefined)
    socket.once('connect', () => resolve({ socket, closed, isClosed: () => isClosed }))
    socket.once('error', reject)
  })
}

async function metric (broker: TestBroker, name: string, label: string): Promise<number> {
  const metrics = await (await fetch(`http://127.0.0.1:${broker.ports.http}/metrics`)).text()
  const match = new RegExp(`^${name}\\{${label}\\} (\\d+)$`, 'm').exec(metrics)
  return match === null ? 0 : Number(match[1])
}

const closedTotal = (broker: TestBroker, reason: string): Promise<number> => metric(broker, 'lowband_connections_closed_total', `reason="${reason}"`)

/** Resolves true when a connection attempt ends without a CONNACK (the broker closed it). */
function refused (url: string, options: IClientOptions): Promise<boolean> {
  return new Promise((resolve) => {
    const client = mqtt.connect(url, { reconnectPeriod: 0, connectTimeout: 5000, ...options })
    client.once('connect', () => { client.end(true); resolve(false) })
    client.once('close', () => { client.end(true); resolve(true) })
    client.on('error', () => undefined)
  })
}

/** Waits until the broker has as many sockets open (or pending) as expected (it saw the test's closes and connects). */
async function openSockets (broker: TestBroker, expected: number, state: 'open' | 'pending' = 'open'): Promise<void> {
  const deadline = Date.now() + 5000
  while (await metric(broker, 'lowband_sockets', `state="${state}"`) !== expected) {
    if (Date.now() > deadline) throw new Error(`the broker does not have ${expected} sockets ${state}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

/**
 * Starts a broker with a TLS listener (self-signed) for a block's tests, handing it to `started`;
 * returns `keep`, which closes a connection after the test that opened it.
 */
function brokerWithTls (flags: Record<string, unknown>, started: (broker: TestBroker) => void): <T extends Socket | MqttClient>(connection: T) => T {
  let broker: TestBroker
  let certDir: string
  const opened: Array<Socket | MqttClient> = []
  beforeAll(async () => {
    certDir = await mkdtemp(join(tmpdir(), 'lowband-tls-'))
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1',
      '-subj', '/CN=localhost', '-keyout', join(certDir, 'key.pem'), '-out', join(certDir, 'cert.pem')], { stdio: 'ignore' })
    broker = await startTestBroker({ ...flags, tlsPort: 0, tlsCert: join(certDir, 'cert.pem'), tlsKey: join(certDir, 'key.pem') })
    started(broker)
  })
  afterEach(async () => {
    for (const connection of opened.splice(0)) {
      if ('destroy' in connection) connection.destroy()
      else await connection.endAsync(true)
    }
    await openSockets(broker, 0)
  })
  afterAll(async () => {
    await broker.close()
    await rm(certDir, { recursive: true, force: true })
  })
  return (connection) => { opened.push(connection); return connection }
}

describe('connection limits', () => {
  let broker: TestBroker
  const keep = brokerWithTls({ maxConnections: 40, maxPendingPerIp: 8 }, (started) => { broker = started })

  it('closes a socket over --max-pending-per-ip at once, and lets other addresses in', async () => {
    const before = await closedTotal(broker, 'pending_per_ip')
    const flood = await Promise.all(Array.from({ length: 8 }, () => silent(broker.ports.tcp, '127.0.0.2')))
    flood.forEach((s) => keep(s.socket))
    const over = await silent(broker.ports.tcp, '127.0.0.2')
    keep(over.socket)
    await over.closed
    expect(await closedTotal(broker, 'pending_per_ip')).toBe(before + 1)
    expect(flood.some((s) => s.isClosed())).toBe(false)
    // Another address, and the WebSocket listener from the flooded one: both its own count and the flood's.
    const alice = keep(await connectMqtt(`mqtt://127.0.0.1:${broker.ports.tcp}`, { clientId: 'alice/phone', username: 'alice', password: await broker.token('alice') }))
    expect(await refused(`ws://127.0.0.1:${broker.ports.ws}/mqtt`, { clientId: 'alice/tab', username: 'alice', password: await broker.token('alice'), wsOptions: { localAddress: '127.0.0.2' } })).toBe(true)
    expect(alice.connected).toBe(true)
  })

  it('counts a connection as pending only until it authenticates, on TCP, TLS and WebSocket', async () => {
    // Three times the cap from one address, one after another: each leaves the pending count on authenticating.
    for (let i = 0; i < 8; i++) {
      keep(await connectMqtt(`mqtt://127.0.0.1:${broker.ports.tcp}`, { clientId: `tcp/d${i}`, username: 'tcp', password: await broker.token('tcp'), localAddress: '127.0.0.3' } as never))
      keep(await connectMqtt(`mqtts://127.0.0.1:${broker.ports.tls!}`, { clientId: `tls/d${i}`, username: 'tls', password: await broker.token('tls'), rejectUnauthorized: false, localAddress: '127.0.0.3' } as never))
      keep(await connectMqtt(`ws://127.0.0.1:${broker.ports.ws}/mqtt`, { clientId: `ws/d${i}`, username: 'ws', password: await broker.token('ws'), wsOptions: { localAddress: '127.0.0.3' } }))
    }
    const flood = await Promise.all(Array.from({ length: 8 }, () => silent(broker.ports.tcp, '127.0.0.3')))
    flood.forEach((s) => keep(s.socket))
    await openSockets(broker, 32)
    expect(flood.some((s) => s.isClosed())).toBe(false)
  })

  it('closes a socket over --max-connections at once; the connected keep working', async () => {
    const alice = keep(await broker.device('alice', 'laptop'))
    const bob = new Inbox(keep(await broker.device('bob', 'laptop')))
    const before = await closedTotal(broker, 'max_connections')
    // 38 more from five addresses (the per-address cap is 8) fill the 40.
    const flood: Silent[] = []
    for (let i = 0; i < 38; i++) flood.push(await silent(broker.ports.tcp, `127.0.1.${1 + (i % 5)}`))
    flood.forEach((s) => keep(s.socket))
    const over = await silent(broker.ports.tcp, '127.0.2.1')
    keep(over.socket)
    await over.closed
    expect(await refused(`mqtt://127.0.0.1:${broker.ports.tcp}`, { clientId: 'carol/phone', username: 'carol', password: await broker.token('carol') })).toBe(true)
    expect(await closedTotal(broker, 'max_connections')).toBeGreaterThanOrEqual(before + 2)
    await sendRaw(alice, 'bob', 'still stored and delivered')
    await bob.wait('inbox')
    // Room again once some go.
    for (const s of flood.slice(0, 3)) s.socket.destroy()
    await openSockets(broker, 37)
    keep(await broker.device('carol', 'phone'))
  })

})

describe('the cap on connections not yet authenticated (--max-pending)', () => {
  const MAX_PENDING = 6
  let broker: TestBroker
  const keep = brokerWithTls({ maxConnections: 40, maxPending: MAX_PENDING, maxPendingPerIp: 4 }, (started) => { broker = started })
  /** Fills the cap with silent sockets from two addresses (each under its own --max-pending-per-ip of 4). */
  const fill = async (): Promise<Silent[]> => {
    const flood: Silent[] = []
    for (let i = 0; i < MAX_PENDING; i++) flood.push(await silent(broker.ports.tcp, `127.0.3.${1 + (i % 2)}`))
    flood.forEach((s) => keep(s.socket))
    await openSockets(broker, MAX_PENDING, 'pending')
    return flood
  }
  const chat = async (user: string, options: IClientOptions = {}): Promise<IClientOptions> =>
    ({ clientId: `${user}/phone`, username: user, password: await broker.token(user), ...options })

  it('closes a silent socket past the cap at once, from any address, and counts it', async () => {
    const flood = await fill()
    const before = await closedTotal(broker, 'max_pending')
    // A third address, under its own per-address cap: the total refuses it.
    const over = await silent(broker.ports.tcp, '127.0.3.3')
    keep(over.socket)
    await over.closed
    expect(await closedTotal(broker, 'max_pending')).toBe(before + 1)
    expect(flood.some((s) => s.isClosed())).toBe(false)
  })

  it('refuses a device on every listener while the cap holds, and lets it in once pending connections fall below', async () => {
    const flood = await fill()
    const tcp = `mqtt://127.0.0.1:${broker.ports.tcp}`
    const tls = `mqtts://127.0.0.1:${broker.ports.tls!}`
    const ws = `ws://127.0.0.1:${broker.ports.ws}/mqtt`
    expect(await refused(tcp, await chat('alice'))).toBe(true)
    expect(await refused(tls, await chat('alice', { rejectUnauthorized: false }))).toBe(true)
    expect(await refused(ws, await chat('alice'))).toBe(true)
    flood[0]!.socket.destroy()
    await openSockets(broker, MAX_PENDING - 1, 'pending')
    const alice = keep(await connectMqtt(tcp, await chat('alice')))
    expect(alice.connected).toBe(true)
    // Authenticated, alice no longer counts: the cap is reached again by one more silent socket.
    keep((await silent(broker.ports.tcp, '127.0.3.3')).socket)
    await openSockets(broker, MAX_PENDING, 'pending')
    expect(await refused(ws, await chat('bob'))).toBe(true)
  })

  it('does not count authenticated connections, and opens again once a flood ends', async () => {
    // More authenticated devices than the cap, on every listener.
    for (let i = 0; i < 3; i++) {
      keep(await connectMqtt(`mqtt://127.0.0.1:${broker.ports.tcp}`, await chat(`tcp${i}`)))
      keep(await connectMqtt(`mqtts://127.0.0.1:${broker.ports.tls!}`, { ...await chat(`tls${i}`), rejectUnauthorized: false }))
      keep(await connectMqtt(`ws://127.0.0.1:${broker.ports.ws}/mqtt`, await chat(`ws${i}`)))
    }
    await openSockets(broker, 0, 'pending')
    const flood = await fill()
    expect(flood.some((s) => s.isClosed())).toBe(false)
    // The flood ends: every listener takes new devices again.
    for (const s of flood) s.socket.destroy()
    await openSockets(broker, 0, 'pending')
    keep(await connectMqtt(`mqtts://127.0.0.1:${broker.ports.tls!}`, { ...await chat('carol'), rejectUnauthorized: false }))
    keep(await connectMqtt(`ws://127.0.0.1:${broker.ports.ws}/mqtt`, await chat('dave')))
    keep(await connectMqtt(`mqtt://127.0.0.1:${broker.ports.tcp}`, await chat('erin')))
    await openSockets(broker, 12)
  })
})

describe('the CONNECT timeout', () => {
  let broker: TestBroker
  beforeAll(async () => { broker = await startTestBroker({ connectTimeout: 1 }) })
  afterAll(() => broker.close())

  it('closes a connection that sends no CONNECT within --connect-timeout, and keeps the authenticated', async () => {
    const idle = await silent(broker.ports.tcp)
    const alice = await broker.device('alice', 'tablet')
    await idle.closed
    expect(await closedTotal(broker, 'connect_timeout')).toBe(1)
    await new Promise((resolve) => setTimeout(resolve, 1200)) // past its own timeout
    expect(alice.connected).toBe(true)
  })
})

describe('connection limit defaults', () => {
  it('keeps 1024 descriptors from the open-files limit for the store and the rest, at most half of a small one', () => {
    expect(defaultMaxConnections(20_000)).toBe(18_976)
    expect(defaultMaxConnections(1024)).toBe(512)
    const config = loadConfig({ dataDir: '/tmp/x' }, {})
    expect(config.maxConnections).toBeGreaterThan(0)
    expect(config.connectTimeout).toBe(10)
    expect(config.maxPending).toBe(4096)
    expect(config.maxQueuedBytes).toBe(2 ** 20)
  })

  it('reads sizes with IEC units', () => {
    expect(loadConfig({ maxQueuedBytes: '512KiB', maxPayload: '1MiB', rateBytes: '1.5MiB' }, {})).toMatchObject({ maxQueuedBytes: 524_288, maxPayload: 1_048_576, rateBytes: 1_572_864, rateBytesBurst: 1_048_576 })
    expect(() => loadConfig({ maxQueuedBytes: '1 megabyte' }, {})).toThrow(/--max-queued-bytes \(LOWBAND_MAX_QUEUED_BYTES\)/)
    expect(() => loadConfig({ maxPayload: '1MiB', rateBytesBurst: '512KiB' }, {})).toThrow(/--rate-bytes-burst/)
  })

  it('counts IPv6 sources by /64 and IPv4-mapped ones as IPv4', () => {
    expect(addressKey('::ffff:10.1.2.3')).toBe('10.1.2.3')
    expect(addressKey('10.1.2.3')).toBe('10.1.2.3')
    expect(addressKey('2001:db8:1:2:aaaa::1')).toBe(addressKey('2001:0db8:0001:0002:bbbb:cccc:dddd:eeee'))
    expect(addressKey('2001:db8:1:2::1')).not.toBe(addressKey('2001:db8:1:3::1'))
    expect(addressKey('::1')).toBe('0:0:0:0::/64')
    expect(addressKey(undefined)).toBeUndefined()
  })
})
