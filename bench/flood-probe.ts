import { fork } from 'node:child_process'
import { connect as netConnect, createServer, type AddressInfo, type Socket } from 'node:net'
import { loadavg } from 'node:os'
import { fileURLToPath } from 'node:url'
import mqttPacket from 'mqtt-packet'
import { ATTACKER_USERS, type AttackStats, type PrepareMessage } from './abuse-attacker.js'
import { startBroker } from './brokers.js'
import { ask } from './ipc.js'
import { cpuMs, cpuMsOf, rssBytes, sleep, withChildren } from './proc.js'
import { mintTokens } from './tokens.js'
import { startWorker, stopWorker } from './workers.js'

/**
 * The abuse section's flood alone, against lowband or against an idle Node `net` server that only
 * holds each socket and closes it 10 s later: how much of what other users wait is the flood's cost
 * in Node and on the machine (the attacker shares its cores) rather than lowband's. Other users are
 * 5 connections each sending PINGREQ 20 ms after its last PINGRESP. An experiment, not a section:
 *   node dist/bench/flood-probe.js [broker|idle] [cap=18976] [floodMs=20000]
 */
const PROBES = 5
const LIMITS = { rateLimit: 50, rateBytes: 64 * 1024, maxPendingPerIp: 128 }
const IDLE_TIMEOUT_MS = 10_000

if (process.argv[2] === '--idle-server') serveIdle()
else await probe(process.argv[2] === 'idle' ? 'idle' : 'broker', Number(process.argv[3] ?? 18_976), Number(process.argv[4] ?? 20_000))

/** The idle server: answers CONNECT with CONNACK and PINGREQ with PINGRESP, closes the silent after 10 s. */
function serveIdle (): void {
  const pending = new Map<Socket, number>()
  const server = createServer({ noDelay: true }, (socket) => {
    socket.on('error', () => undefined)
    pending.set(socket, performance.now())
    socket.on('close', () => pending.delete(socket))
    socket.on('data', (chunk: Buffer) => {
      if (chunk[0] === 0x10) { pending.delete(socket); socket.write(Buffer.from([0x20, 2, 0, 0])) }
      if (chunk[0] === 0xc0) socket.write(Buffer.from([0xd0, 0]))
    })
  })
  setInterval(() => {
    const expired = performance.now() - IDLE_TIMEOUT_MS
    for (const [socket, since] of pending) {
      if (since > expired) break
      pending.delete(socket)
      socket.destroy()
    }
  }, 500)
  server.listen(0, '127.0.0.1', () => process.send?.({ port: (server.address() as AddressInfo).port }))
}

async function probe (mode: 'broker' | 'idle', cap: number, floodMs: number): Promise<void> {
  const probeUsers = Array.from({ length: PROBES }, (_, i) => `probe${i}`)
  const tokens = await mintTokens([...ATTACKER_USERS, ...probeUsers])
  let server: { port: number, httpPort: number, pid: number, stop: () => Promise<void> }
  if (mode === 'broker') {
    const broker = await startBroker('lowband', {
      lowbandOptions: ['--rate-limit', String(LIMITS.rateLimit), '--rate-burst', '200', '--rate-bytes', String(LIMITS.rateBytes), '--max-pending-per-ip', String(LIMITS.maxPendingPerIp), '--max-connections', String(cap)]
    })
    server = { port: broker.port, httpPort: broker.httpPort!, pid: broker.pid, stop: () => broker.stop() }
  } else {
    const child = fork(fileURLToPath(import.meta.url), ['--idle-server'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
    const port = await new Promise<number>((resolve) => child.once('message', (message) => resolve((message as { port: number }).port)))
    server = { port, httpPort: 0, pid: child.pid!, stop: async () => { child.kill() } }
  }
  let samples: number[] = []
  const probes = await Promise.all(probeUsers.map(async (user) => {
    const socket = netConnect({ port: server.port, host: '127.0.0.1', noDelay: true })
    await new Promise((resolve) => socket.once('connect', resolve))
    socket.write(mqttPacket.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clientId: `${user}/probe`, clean: true, keepalive: 600, username: user, password: Buffer.from(tokens.get(user)!) }))
    await new Promise((resolve) => socket.once('data', resolve))
    let sentAt = 0
    const ping = (): void => { sentAt = performance.now(); socket.write(Buffer.from([0xc0, 0])) }
    socket.on('data', () => { samples.push(performance.now() - sentAt); setTimeout(ping, 20) })
    ping()
    return socket
  }))
  const attacker = startWorker('abuse-attacker')
  try {
    await ask(attacker.child, { type: 'prepare', port: server.port, httpPort: server.httpPort, tokens: Object.fromEntries(tokens), ...LIMITS, floodSockets: cap - PROBES - ATTACKER_USERS.length } satisfies PrepareMessage, 'prepared')
    const report = (name: string): void => {
      const sorted = samples.sort((a, b) => a - b)
      const at = (q: number): string => (sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0).toFixed(2)
      console.log(`${name}: ${sorted.length} pings, p50 ${at(0.5)} p99 ${at(0.99)} max ${(sorted.at(-1) ?? 0).toFixed(2)} ms`)
      samples = []
    }
    await sleep(3000)
    samples = []
    await sleep(5000)
    report('quiet')
    const startRss = rssBytes(server.pid)
    let peakRss = startRss
    const rssTimer = setInterval(() => { peakRss = Math.max(peakRss, rssBytes(server.pid)) }, 200)
    // lowband's accept process (a child of the broker; none with --no-accept-process or the idle server).
    const helpers = withChildren(server.pid).filter((pid) => pid !== server.pid)
    const [serverCpu, helperCpu, attackerCpu, started] = [cpuMs(server.pid), cpuMsOf(helpers), cpuMs(attacker.child.pid!), performance.now()]
    await ask(attacker.child, { type: 'start', attack: 'flood' }, 'started')
    await sleep(floodMs)
    const stats = await ask<AttackStats>(attacker.child, { type: 'stop' }, 'stopped')
    const wall = performance.now() - started
    report('flood')
    console.log(`cpu over the flood: ${mode} ${Math.round((cpuMs(server.pid) - serverCpu) / wall * 100)} %, its accept process ${Math.round((cpuMsOf(helpers) - helperCpu) / wall * 100)} %, attacker ${Math.round((cpuMs(attacker.child.pid!) - attackerCpu) / wall * 100)} %; load average ${loadavg()[0]!.toFixed(2)}`)
    await sleep(3000)
    clearInterval(rssTimer)
    const mib = (bytes: number): string => (bytes / 2 ** 20).toFixed(1)
    console.log(`rss ${mib(startRss)} → peak ${mib(peakRss)} MiB (+${mib(peakRss - startRss)}); attacker ${JSON.stringify(stats.counts)}`)
  } finally {
    for (const socket of probes) socket.destroy()
    await stopWorker(attacker)
    await server.stop()
  }
}
