import { execFileSync } from 'node:child_process'
import { once } from 'node:events'
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { onFirstBytes } from '../../broker/first-bytes.js'

const hasSs = ((): boolean => { try { execFileSync('ss', ['-V']); return true } catch { return false } })()

/** Bytes waiting in the kernel to be read on a socket of this process (ss's Recv-Q). */
function receiveQueue (socket: Socket): number {
  const row = execFileSync('ss', ['-tnH', 'state', 'established', `( sport = :${socket.localPort!} and dport = :${socket.remotePort!} )`], { encoding: 'utf8' })
  return Number(row.trim().split(/\s+/)[0])
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

describe('the first bytes of a socket handed to another process', () => {
  const servers: Server[] = []
  const sockets: Socket[] = []
  afterEach(() => {
    for (const socket of sockets.splice(0)) socket.destroy()
    for (const server of servers.splice(0)) server.close()
  })

  /** A connected pair: the client end, and the accepted end with nothing listening to it yet. */
  const pair = async (): Promise<{ client: Socket, accepted: Socket }> => {
    const server = createServer()
    servers.push(server)
    server.listen(0, '127.0.0.1')
    await once(server, 'listening')
    const client = connect({ port: (server.address() as AddressInfo).port, host: '127.0.0.1', noDelay: true })
    const [accepted] = await once(server, 'connection') as [Socket]
    sockets.push(client, accepted)
    return { client, accepted }
  }

  it.skipIf(!hasSs)('gives every chunk read so far with the first, and reads nothing after it (needs ss)', async () => {
    const { client, accepted } = await pair()
    // Two reads' worth buffered before anyone listens: Node reads a new socket at once.
    client.write('CONNECT')
    await sleep(30)
    client.write('SUBSCRIBE')
    await sleep(30)
    const head = await new Promise<Buffer>((resolve) => onFirstBytes(accepted, resolve))
    expect(head.toString()).toBe('CONNECTSUBSCRIBE')
    client.write('PUBLISH')
    await sleep(50)
    expect(accepted.readableLength).toBe(0)
    // Still in the kernel's receive queue, where whoever reads this descriptor next finds it.
    expect(receiveQueue(accepted)).toBe('PUBLISH'.length)
  })
})
