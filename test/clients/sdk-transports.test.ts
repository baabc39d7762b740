import { readFile } from 'node:fs/promises'
import { createServer, Socket, type AddressInfo } from 'node:net'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { fastOpenDialer } from '../../clients/sdk/fast-open-transport.js'
import { mqttTransportFactory, type ChatMessage } from '../../clients/sdk/index.js'
import type { DialedSocket, Dialer } from '../../clients/sdk/mqtt-transport.js'
import { encodeSend, ResumeRequest, StoredAck, Synced } from '../../protocol/envelopes.js'
import { COMMAND } from '../../protocol/topics.js'
import { TestBroker } from './helpers/broker.js'
import { next } from './helpers/events.js'

describe('the mqtt.js transport over every kind of link', () => {
  let broker: TestBroker
  let ca: string
  beforeAll(async () => {
    broker = await TestBroker.start({ tls: true })
    ca = await readFile(join(broker.dataDir, 'cert.pem'), 'utf8')
    await (await broker.connected('bob', 'setup')).close()
    await (await broker.connected('carol', 'setup')).close()
  })
  afterAll(async () => { await broker.stop() })

  const urls = (): Array<[string, string]> => [
    ['TCP', `mqtt://127.0.0.1:${broker.broker.ports.tcp}`],
    ['TLS', `mqtts://127.0.0.1:${broker.broker.ports.tls!}`],
    ['WebSocket', `ws://127.0.0.1:${broker.broker.ports.ws}/mqtt`],
    // lowband's WebSocket path is /mqtt; a URL without a path gets it.
    ['WebSocket without a path', `ws://127.0.0.1:${broker.broker.ports.ws}`]
  ]

  it.each(['TCP', 'TLS', 'WebSocket'])('writes the resume behind the CONNECT and answers a PINGREQ probe over %s', async (kind) => {
    const url = urls().find(([name]) => name === kind)![1]
    const transport = mqttTransportFactory({ ca })({
      url, clientId: `bob/probe-${kind}`, username: 'bob', password: await broker.token('bob'), clean: true, keepaliveSeconds: 60, connectTimeoutMs: 5000,
      pipelined: [{ topic: COMMAND.resume, payload: ResumeRequest.encode({ cursor: 0 }) }]
    })
    // No subscription: the Synced that answers the pipelined resume is published to this client only.
    const synced = new Promise<number>((resolve) => transport.onMessage((topic, payload) => { if (topic === 'u/bob/y') resolve(Synced.decode(payload).seq) }))
    await transport.connect()
    expect(await synced).toBeGreaterThanOrEqual(0)
    await transport.ping!()
    await transport.close()
  })

  /** The TCP Fast Open dialer (built by npm run build, with the C compiler the netem suite needs too), counting what it opened. */
  function countingFastOpen (): { dial: Dialer, dialed: Array<DialedSocket | undefined> } {
    const dialer = fastOpenDialer()
    expect(dialer, 'native/fast-open is built').toBeDefined()
    const dialed: Array<DialedSocket | undefined> = []
    return { dialed, dial: async (host, port) => { const socket = await dialer!(host, port); dialed.push(socket); return socket } }
  }

  it('opens mqtt:// over a TCP Fast Open socket: its handshake reported, the resume and a send behind the CONNECT, a probe answered', async () => {
    const { dial, dialed } = countingFastOpen()
    const send = encodeSend({ clientMsgId: new Uint8Array(8).fill(7), to: 'carol', body: 'early' })
    const transport = mqttTransportFactory({}, dial)({
      url: urls()[0]![1], clientId: 'bob/fast-open', username: 'bob', password: await broker.token('bob'), clean: true, keepaliveSeconds: 60, connectTimeoutMs: 5000,
      pipelined: [{ topic: COMMAND.resume, payload: ResumeRequest.encode({ cursor: 0 }) }, send]
    })
    let established = 0
    transport.onEstablished!(() => established++)
    // Both answers come to this client alone, no subscription needed: the resume's Synced, the send's stored-ack.
    const answers = new Map<string, Uint8Array>()
    transport.onMessage((topic, payload) => answers.set(topic, payload))
    const answer = async (topic: string): Promise<Uint8Array> => { while (!answers.has(topic)) await new Promise((resolve) => setTimeout(resolve, 5)); return answers.get(topic)! }
    const synced = answer('u/bob/y').then((payload) => Synced.decode(payload).seq)
    const stored = answer('u/bob/a').then((payload) => StoredAck.decode(payload).cseq)
    await transport.connect()
    expect(dialed).toHaveLength(1)
    expect(dialed[0]).toBeDefined()
    expect(established).toBe(1)
    expect(await synced).toBeGreaterThanOrEqual(0)
    expect(await stored).toBeGreaterThan(0)
    await transport.ping!()
    await transport.close()
  })

  it('drops a connection dialed after close(): an attempt cut while it dialed leaves no socket open', async () => {
    const { dial } = countingFastOpen()
    let release!: () => void
    const held = new Promise<void>((resolve) => { release = resolve })
    let socket: DialedSocket | undefined
    const slow: Dialer = async (host, port) => { await held; socket = await dial(host, port); return socket }
    const transport = mqttTransportFactory({}, slow)({ url: urls()[0]![1], clientId: 'bob/cut', username: 'bob', password: await broker.token('bob'), clean: true, keepaliveSeconds: 60, connectTimeoutMs: 5000 })
    const connecting = transport.connect()
    await transport.close(true)
    release()
    await expect(connecting).rejects.toThrow('transport closed while connecting')
    expect(socket?.stream.destroyed).toBe(true)
  })

  it('leaves mqtts:// and ws:// to mqtt.js', async () => {
    const { dial, dialed } = countingFastOpen()
    for (const [kind, url] of urls().slice(1, 3)) {
      const alice = await broker.connected('alice', `not-fast-open-${kind}`, { url, transportFactory: mqttTransportFactory({ ca }, dial) })
      await alice.close()
    }
    expect(dialed).toHaveLength(0)
  })

  it.each(['TCP', 'TLS', 'WebSocket', 'WebSocket without a path'])('sends and receives over %s', async (kind) => {
    const url = urls().find(([name]) => name === kind)![1]
    const bob = await broker.connected('bob', `on-${kind.replaceAll(' ', '-')}`)
    const alice = await broker.connected('alice', `on-${kind.replaceAll(' ', '-')}`, { url, transportFactory: mqttTransportFactory({ ca }) })
    const received = next<ChatMessage>((h) => bob.onMessage(h))
    const sent = await alice.send('bob', `over ${kind}`)
    expect(await received).toMatchObject({ id: sent.id, text: `over ${kind}` })
  })

  it.each(['TCP', 'TLS'])('turns Nagle off (TCP_NODELAY) over %s only when asked', async (kind) => {
    const url = urls().find(([name]) => name === kind)![1]
    const port = Number(new URL(url).port)
    const calls: Array<{ socket: Socket, noDelay: boolean | undefined }> = []
    const original = Socket.prototype.setNoDelay
    Socket.prototype.setNoDelay = function (this: Socket, noDelay?: boolean) {
      calls.push({ socket: this, noDelay })
      return original.call(this, noDelay)
    }
    try {
      for (const noDelay of [undefined, false, true]) {
        const transport = mqttTransportFactory({ ca })({
          url, clientId: `bob/nodelay-${kind}-${String(noDelay)}`, username: 'bob', password: await broker.token('bob'), clean: true, keepaliveSeconds: 60, connectTimeoutMs: 5000,
          ...(noDelay === undefined ? {} : { noDelay })
        })
        calls.length = 0
        await transport.connect()
        // The client's own socket (the in-process broker sets its side too).
        const own = calls.filter((c) => c.socket.remotePort === port).map((c) => c.noDelay)
        expect(own).toEqual(noDelay === true ? [true] : [])
        await transport.close()
      }
    } finally {
      Socket.prototype.setNoDelay = original
    }
  })

  it.each(['mqtt', 'mqtts'])('says when the TCP handshake of %s:// is done, before any CONNACK', async (scheme) => {
    // A server that accepts the connection and never says a word: the network answered, the broker did not.
    const silent = createServer(() => {})
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve))
    const transport = mqttTransportFactory({ ca })({
      url: `${scheme}://127.0.0.1:${(silent.address() as AddressInfo).port}`, clientId: 'bob/silent', username: 'bob', password: 'x', clean: true, keepaliveSeconds: 60, connectTimeoutMs: 60_000
    })
    const established = new Promise<void>((resolve) => transport.onEstablished!(resolve))
    const connecting = transport.connect()
    connecting.catch(() => {})
    await established
    await transport.close(true)
    await expect(connecting).rejects.toThrow()
    silent.close()
  })

  it.each([['a forced close resets the connection (RST)', true, 'ECONNRESET'], ['a polite close ends it (FIN)', false, 'end']] as const)('over mqtt://, %s', async (_name, force, seen) => {
    // A server that accepts the CONNECT and says how the connection ended: with a reset, what the
    // client's kernel still held for a dead link is dropped instead of crossing it later.
    let ended!: (how: string) => void
    const how = new Promise<string>((resolve) => { ended = resolve })
    const server = createServer((socket) => {
      socket.once('data', () => socket.write(Buffer.from([0x20, 0x02, 0x00, 0x00])))
      socket.on('end', () => ended('end'))
      socket.on('error', (error: NodeJS.ErrnoException) => ended(error.code ?? error.message))
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const transport = mqttTransportFactory()({
      url: `mqtt://127.0.0.1:${(server.address() as AddressInfo).port}`, clientId: 'bob/reset', username: 'bob', password: 'x', clean: true, keepaliveSeconds: 60, connectTimeoutMs: 5000
    })
    await transport.connect()
    await transport.close(force)
    expect(await how).toBe(seen)
    server.close()
  })

  it('refuses a TLS server it cannot verify', async () => {
    const client = await broker.client('alice', 'strict', { url: `mqtts://127.0.0.1:${broker.broker.ports.tls!}` })
    await expect(client.connect()).rejects.toThrow(/self[- ]signed/i)
  })

  it('rejects a URL scheme it cannot speak', async () => {
    await expect(broker.client('alice', 'http', { url: 'http://127.0.0.1:1' })).rejects.toThrow(TypeError)
  })
})
