import mqttPacket, { type Packet } from 'mqtt-packet'
import { describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { WAIT_MS, uniqueClientId } from './raw-client.js'
import { TARGET, useTarget } from './target.js'

const connectPacket = (): Buffer => mqttPacket.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, keepalive: 0, clientId: uniqueClientId('ws') })

/** A WebSocket to the target's /mqtt offering `protocols`, with the MQTT packets it receives. */
async function openWebSocket (port: number, protocols: string[]): Promise<{ socket: WebSocket, packets: Packet[], closed: Promise<void> }> {
  const socket = new WebSocket(`ws://127.0.0.1:${port}/mqtt`, protocols)
  const packets: Packet[] = []
  const parser = mqttPacket.parser({ protocolVersion: 4 })
  parser.on('packet', (packet: Packet) => packets.push(packet))
  socket.on('message', (data: Buffer) => parser.parse(data))
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()))
  await new Promise<void>((resolve, reject) => {
    socket.once('open', resolve)
    socket.once('error', reject)
  })
  return { socket, packets, closed }
}

/** Resolves once `packets` holds `count` packets; rejects after WAIT_MS. */
async function received (packets: Packet[], count: number): Promise<Packet[]> {
  const deadline = Date.now() + WAIT_MS
  while (packets.length < count) {
    if (Date.now() > deadline) throw new Error(`${packets.length} of ${count} packets within ${WAIT_MS} ms`)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
  return packets
}

const within = (closed: Promise<void>): Promise<void> => Promise.race([
  closed,
  new Promise<void>((_resolve, reject) => setTimeout(() => reject(new Error(`no close within ${WAIT_MS} ms`)), WAIT_MS))
])

describe.skipIf(TARGET === 'aedes')(`MQTT over WebSocket (${TARGET}; plain Aedes has no WebSocket listener of its own)`, () => {
  const target = useTarget()
  const wsPort = (): number => target.wsPort()!

  it('[MQTT-6.0.0-4] selects the WebSocket subprotocol "mqtt", even when the client offers another first', async () => {
    for (const offered of [['mqtt'], ['x-unknown', 'mqtt']]) {
      const { socket } = await openWebSocket(wsPort(), offered)
      expect(socket.protocol).toBe('mqtt')
      socket.close()
    }
  })

  it('[MQTT-6.0.0-1] closes the connection on a text frame, even one holding a well-formed CONNECT', async () => {
    const { socket, packets, closed } = await openWebSocket(wsPort(), ['mqtt'])
    socket.send(connectPacket().toString('latin1'), { binary: false })
    await within(closed)
    expect(packets).toEqual([])
  })

  it('[MQTT-6.0.0-2] reads packets split over frames and packets sharing a frame', async () => {
    const { socket, packets } = await openWebSocket(wsPort(), ['mqtt'])
    const connect = connectPacket()
    socket.send(connect.subarray(0, 5), { binary: true })
    socket.send(Buffer.concat([connect.subarray(5), mqttPacket.generate({ cmd: 'pingreq' })]), { binary: true })
    expect((await received(packets, 2)).map((p) => p.cmd)).toEqual(['connack', 'pingresp'])
    socket.close()
  })
})
