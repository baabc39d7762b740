import { execFileSync } from 'node:child_process'
import { readdirSync, readlinkSync } from 'node:fs'
import { connect as netConnect, type Socket } from 'node:net'
import mqttPacket from 'mqtt-packet'
import { afterEach, describe, expect, it } from 'vitest'
import { startTestBroker, type TestBroker } from '../helpers/broker.js'

const hasPs = ((): boolean => { try { execFileSync('ps', ['-V']); return true } catch { return false } })()

/** TCP sockets of this (the test's and an in-process broker's) process. */
const tcpSocketsHere = (): number => process.getActiveResourcesInfo().filter((kind) => kind === 'TCPSocketWrap').length

/** The pid of the accept process this test process started for a broker whose --max-connections is `marker`. */
function acceptPid (marker: number): number | undefined {
  const rows = execFileSync('ps', ['-o', 'pid=,args=', '--ppid', String(process.pid)], { encoding: 'utf8' })
  const row = rows.split('\n').find((line) => line.includes('accept-main.js') && line.includes(`"maxConnections":${marker},`))
  return row === undefined ? undefined : Number(row.trim().split(' ', 1)[0])
}

const alive = (pid: number): boolean => { try { process.kill(pid, 0); return true } catch { return false } }

async function until (what: string, check: () => boolean | Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 10_000
  while (!await check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

async function pendingSockets (broker: TestBroker): Promise<number> {
  const metrics = await (await fetch(`http://127.0.0.1:${broker.ports.http}/metrics`)).text()
  return Number(/^lowband_sockets\{state="pending"\} (\d+)$/m.exec(metrics)?.[1] ?? 0)
}

/**
 * A raw chat client that writes CONNECT, then on the next turns SUBSCRIBE and PINGREQ, each its
 * own write; resolves with the packet types it got back (CONNACK, SUBACK, PINGRESP expected).
 */
async function pipelined (port: number, user: string, password: string): Promise<string[]> {
  const socket = netConnect({ port, host: '127.0.0.1', noDelay: true })
  const parser = mqttPacket.parser({ protocolVersion: 4 })
  const got: string[] = []
  parser.on('packet', (packet) => { got.push(packet.cmd) })
  socket.on('data', (chunk) => parser.parse(chunk))
  socket.on('error', () => undefined)
  await new Promise((resolve) => socket.once('connect', resolve))
  const write = (packet: mqttPacket.Packet): boolean => socket.write(mqttPacket.generate(packet))
  write({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, clientId: `${user}/phone`, keepalive: 60, username: user, password: Buffer.from(password) })
  await new Promise((resolve) => setImmediate(resolve))
  write({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: `u/${user}/#`, qos: 1 }] })
  await new Promise((resolve) => setImmediate(resolve))
  write({ cmd: 'pingreq' })
  const deadline = Date.now() + 10_000
  while (got.length < 3 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20))
  socket.destroy()
  return got
}

describe('the accept process', () => {
  let broker: TestBroker | undefined
  const sockets: Socket[] = []
  afterEach(async () => {
    for (const socket of sockets.splice(0)) socket.destroy()
    await broker?.close()
    broker = undefined
  })
  const silent = async (port: number): Promise<void> => {
    const socket = netConnect({ port, host: '127.0.0.1' })
    socket.on('error', () => undefined)
    sockets.push(socket)
    await new Promise((resolve) => socket.once('connect', resolve))
  }

  it.each([
    { acceptProcess: true, brokerSide: 0 },
    { acceptProcess: false, brokerSide: 1 }
  ])('holds a socket that never speaks outside the broker\'s process (accept process: $acceptProcess)', async ({ acceptProcess, brokerSide }) => {
    broker = await startTestBroker({ acceptProcess })
    await pendingSockets(broker) // its keep-alive connection is counted in both readings
    const before = tcpSocketsHere()
    for (let i = 0; i < 20; i++) await silent(broker.ports.tcp)
    await until('the broker counts 20 pending sockets', async () => await pendingSockets(broker!) === 20)
    // The test's own 20 ends, and the broker's 20 only when it accepts them itself.
    expect(tcpSocketsHere() - before).toBe(20 + 20 * brokerSide)
  })

  it('loses none of the bytes a client writes behind its first ones, while sockets wait their turn to be handed over', async () => {
    broker = await startTestBroker()
    const users = Array.from({ length: 60 }, (_, i) => `user${i}`)
    const tokens = await Promise.all(users.map((user) => broker!.token(user)))
    const got = await Promise.all(users.map((user, i) => pipelined(broker!.ports.tcp, user, tokens[i]!)))
    // CONNACK first; SUBACK and PINGRESP in either order (the subscription is authorised asynchronously).
    expect(got.filter((packets) => packets[0] !== 'connack' || [...packets].sort().join() !== 'connack,pingresp,suback')).toEqual([])
  })

  it.skipIf(!hasPs)('holds none of the broker\'s files: forked before the store opens, and closes what it inherited (needs ps)', async () => {
    const marker = 12_347
    // Another broker's store open in this process, as an embedding process's files would be.
    const other = await startTestBroker({ acceptProcess: false })
    try {
      broker = await startTestBroker({ maxConnections: marker })
      const pid = acceptPid(marker)!
      const files = readdirSync(`/proc/${pid}/fd`).map((fd) => { try { return readlinkSync(`/proc/${pid}/fd/${fd}`) } catch { return '' } })
      expect(files.filter((target) => target.startsWith(broker!.dataDir) || target.startsWith(other.dataDir))).toEqual([])
    } finally {
      await other.close()
    }
  })

  it.skipIf(!hasPs)('is replaced by the broker accepting on the same ports if it dies, and leaves nothing behind at stop (needs ps)', async () => {
    const marker = 12_345
    broker = await startTestBroker({ maxConnections: marker })
    const pid = acceptPid(marker)
    expect(pid).toBeDefined()
    process.kill(pid!, 'SIGKILL')
    await until('the broker says it accepts itself', () => broker!.logs.some((line) => line.includes('the accept process ended')))
    const alice = await broker.device('alice', 'phone')
    expect(alice.connected).toBe(true)
    await until('a silent socket counts as pending in the broker', async () => { await silent(broker!.ports.tcp); return await pendingSockets(broker!) > 0 })

    const again = await startTestBroker({ maxConnections: marker + 1 })
    const second = acceptPid(marker + 1)
    expect(second).toBeDefined()
    await again.close()
    await until('the stopped broker\'s accept process is gone', () => !alive(second!))
  })
})
