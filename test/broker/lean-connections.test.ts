import { Duplex } from 'node:stream'
import { Aedes, type Client } from 'aedes'
import mqttPacket, { type Packet } from 'mqtt-packet'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { leanClient, leanConnections } from '../../broker/lean-connections.js'

/** An in-memory connection: bytes pushed in reach the broker; what it writes is parsed into `received`. */
function memoryConnection () {
  const received: Packet[] = []
  const parser = mqttPacket.parser({ protocolVersion: 4 })
  parser.on('packet', (packet: Packet) => received.push(packet))
  const conn = new Duplex({ read () {}, write (chunk: Buffer, _encoding, done) { parser.parse(chunk); done() } })
  const waitFor = async (cmd: Packet['cmd']): Promise<Packet> => {
    for (let i = 0; i < 200; i++) {
      const packet = received.find((p) => p.cmd === cmd)
      if (packet !== undefined) return packet
      await new Promise((resolve) => setTimeout(resolve, 5))
    }
    throw new Error(`no ${cmd}`)
  }
  return { conn, received, waitFor }
}

interface ParserView { settings: Record<string, unknown>, _list: object }
const parserOf = (client: Client): ParserView => (client as unknown as { _parser: ParserView })._parser

const CONNECT = mqttPacket.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clientId: 'ann/phone', clean: false, keepalive: 60, username: 'ann', password: Buffer.from('a.jwt.token') })
const SUBSCRIBE = mqttPacket.generate({ cmd: 'subscribe', messageId: 7, subscriptions: [{ topic: 'u/ann/#', qos: 1 }] })

describe('lean connections (patch points in Aedes 1.2 / mqtt-packet 9)', () => {
  let broker: Aedes
  beforeEach(async () => { broker = await Aedes.createBroker() })
  afterEach(() => new Promise<void>((resolve) => broker.close(() => resolve())))

  /** A broker client on an in-memory connection, leaned before any byte arrives (as leanConnections does). */
  const leanConnection = () => {
    const connection = memoryConnection()
    const client = broker.handle(connection.conn)
    leanClient(client)
    return { ...connection, client }
  }
  const subscribed = async () => {
    const connection = leanConnection()
    connection.conn.push(Buffer.concat([CONNECT, SUBSCRIBE]))
    await connection.waitFor('suback')
    return connection
  }

  it('leans every client the broker handles, and turns off the writer\'s cache of 65 536 packet-id buffers', async () => {
    const before = mqttPacket.writeToStream.cacheNumbers
    try {
      leanConnections(broker)
      expect(mqttPacket.writeToStream.cacheNumbers).toBe(false)
      const { conn, waitFor } = memoryConnection()
      const client = broker.handle(conn)
      conn.push(Buffer.concat([CONNECT, SUBSCRIBE]))
      expect(await waitFor('suback')).toMatchObject({ messageId: 7 })
      expect(parserOf(client).settings).toEqual({ protocolVersion: 4 })
    } finally {
      mqttPacket.writeToStream.cacheNumbers = before
    }
  })

  it('finds every internal it replaces in the installed Aedes and mqtt-packet', () => {
    const { conn } = memoryConnection()
    expect(leanClient(broker.handle(conn))).toEqual({ byteList: true, parserStates: true, connectPacket: true, endOfStream: true, inflight: true, duplicates: true })
  })

  it('parses packets packed into one read and split across reads, and forgets the CONNECT password', async () => {
    const { conn, client, waitFor } = leanConnection()
    const bytes = Buffer.concat([CONNECT, SUBSCRIBE])
    // CONNECT and the start of SUBSCRIBE in one read, the rest one byte at a time.
    const cut = CONNECT.length + 3
    conn.push(bytes.subarray(0, cut))
    for (let i = cut; i < bytes.length; i++) conn.push(bytes.subarray(i, i + 1))
    expect(await waitFor('connack')).toMatchObject({ returnCode: 0 })
    expect(await waitFor('suback')).toMatchObject({ messageId: 7, granted: [1] })
    const parser = parserOf(client)
    expect(parser.settings).toEqual({ protocolVersion: 4 })
    expect(parser._list).not.toBeInstanceOf(Duplex)
  })

  it('keeps the parser state mqtt-packet resets after each packet', async () => {
    const plain = mqttPacket.parser()
    plain.parse(SUBSCRIBE)
    const { conn, client, waitFor } = leanConnection()
    conn.push(CONNECT)
    await waitFor('connack')
    const own = (o: object) => Object.keys(o).filter((k) => !['_resetState', '_parseConnect', 'client', '_queue'].includes(k)).sort()
    expect(own(parserOf(client))).toEqual(own(plain))
  })

  it('completes an inbound QoS 2 publish and frees its slot', async () => {
    const { conn, client, received, waitFor } = await subscribed()
    const inflight = (client as unknown as { _inboundInflight: { size: number } })._inboundInflight
    conn.push(mqttPacket.generate({ cmd: 'publish', topic: 'u/ann/x', payload: Buffer.from('hi'), qos: 2, messageId: 9, retain: false, dup: false }))
    expect(await waitFor('pubrec')).toMatchObject({ messageId: 9 })
    expect(inflight.size).toBe(1)
    conn.push(mqttPacket.generate({ cmd: 'pubrel', messageId: 9 }))
    expect(await waitFor('pubcomp')).toMatchObject({ messageId: 9 })
    expect(inflight.size).toBe(0)
    expect(received.find((p) => p.cmd === 'publish')).toMatchObject({ topic: 'u/ann/x' })
  })

  it('drops an older packet from the same broker id, and takes any broker id as a key', async () => {
    const { client, received } = await subscribed()
    const send = (brokerId: string, brokerCounter: number, text: string) => new Promise<void>((resolve, reject) => {
      client.publish({ cmd: 'publish', topic: 'u/ann/x', payload: Buffer.from(text), qos: 0, retain: false, dup: false, brokerId, brokerCounter } as never, (error?: Error) => error ? reject(error) : resolve())
    })
    for (const [id, counter, text] of [['node-a', 2, 'a2'], ['node-a', 1, 'a1'], ['constructor', 1, 'c1'], ['__proto__', 1, 'p1']] as const) await send(id, counter, text)
    await new Promise((resolve) => setTimeout(resolve, 20))
    expect(received.filter((p) => p.cmd === 'publish').map((p) => String((p as { payload: Buffer }).payload))).toEqual(['a2', 'c1', 'p1'])
  })

  it('closes the client when its connection closes without an end or an error', async () => {
    const { conn, client, waitFor } = leanConnection()
    conn.push(CONNECT)
    await waitFor('connack')
    const gone = new Promise<Client>((resolve) => broker.once('clientDisconnect', resolve))
    conn.destroy()
    expect(await gone).toBe(client)
    expect(client.closed).toBe(true)
    expect(broker.connectedClients).toBe(0)
  })
})
