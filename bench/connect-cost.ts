import { connect as netConnect, type Socket } from 'node:net'
import mqttPacket from 'mqtt-packet'
import { startBroker } from './brokers.js'
import { mintTokens } from './tokens.js'

/**
 * What a connection costs a device in time, from its TCP connect to its CONNACK, with lowband's
 * accept process (the default) and without it (`--no-accept-process`), alternating: one device at
 * a time (the first 100 of each run are a warm-up), then a reconnect storm of `storm` devices,
 * 200 connecting at once, as connections a second. On loopback. An experiment, not a section:
 *   node dist/bench/connect-cost.js [connections=600] [runs=2] [storm=10000]
 */
const connections = Number(process.argv[2] ?? 600)
const runs = Number(process.argv[3] ?? 2)
const stormSize = Number(process.argv[4] ?? 10_000)
const WARM_UP = 100
const STORM_AT_ONCE = 200
const token = (await mintTokens(['device'])).get('device')!

/** Connects a device and resolves on its CONNACK, leaving the socket open. */
async function connectDevice (port: number, clientId: string, localAddress = '127.0.0.1'): Promise<Socket> {
  const socket = netConnect({ port, host: '127.0.0.1', localAddress, noDelay: true })
  socket.on('error', () => undefined)
  const closed = new Promise<never>((_resolve, reject) => socket.once('close', () => reject(new Error(`${clientId}: closed before its CONNACK`))))
  await Promise.race([new Promise((resolve) => socket.once('connect', resolve)), closed])
  socket.write(mqttPacket.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, clientId, keepalive: 600, username: 'device', password: Buffer.from(token) }))
  await Promise.race([new Promise((resolve) => socket.once('data', resolve)), closed])
  return socket
}

/** Connections a second when `stormSize` devices connect, STORM_AT_ONCE at a time. */
async function storm (port: number): Promise<number> {
  const sockets: Socket[] = []
  let next = 0
  const started = performance.now()
  // Each connecting device from an address of its own: --max-pending-per-ip is for one phone's share.
  await Promise.all(Array.from({ length: STORM_AT_ONCE }, async (_, lane) => {
    while (next < stormSize) sockets.push(await connectDevice(port, `device/s${next++}`, `127.2.0.${1 + lane}`))
  }))
  const rate = stormSize / ((performance.now() - started) / 1000)
  for (const socket of sockets) socket.destroy()
  return rate
}

for (let run = 0; run < runs; run++) {
  for (const acceptProcess of [true, false]) {
    const broker = await startBroker('lowband', { lowbandOptions: acceptProcess ? [] : ['--no-accept-process'] })
    try {
      const times: number[] = []
      for (let i = 0; i < connections; i++) {
        const started = performance.now()
        const socket = await connectDevice(broker.port, `device/d${i}`)
        times.push(performance.now() - started)
        socket.destroy()
      }
      const sorted = times.slice(WARM_UP).sort((a, b) => a - b)
      const at = (q: number): string => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))]!.toFixed(2)
      const rate = await storm(broker.port)
      console.log(`${acceptProcess ? 'accept process   ' : 'no accept process'}: connect → CONNACK p50 ${at(0.5)} ms, p99 ${at(0.99)} ms (${sorted.length} connections); a storm of ${stormSize}: ${Math.round(rate)} connections/s`)
    } finally {
      await broker.stop()
    }
  }
}
