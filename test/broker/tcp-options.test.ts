import { execFileSync } from 'node:child_process'
import { connect } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestBroker, type TestBroker } from '../helpers/broker.js'

const hasSs = ((): boolean => { try { execFileSync('ss', ['-V']); return true } catch { return false } })()

describe('server sockets for mobile links', () => {
  let broker: TestBroker
  beforeAll(async () => { broker = await startTestBroker() })
  afterAll(async () => { await broker.close() })

  it.skipIf(!hasSs)('turns on TCP keepalive probes on every accepted MQTT socket (needs ss from iproute2)', async () => {
    const socket = connect(broker.ports.tcp, '127.0.0.1')
    await new Promise((resolve) => socket.once('connect', resolve))
    // The first byte of a CONNECT: the accept process hands the socket to the broker with it.
    socket.write(Buffer.from([0x10]))
    const local = socket.localPort!
    // The broker's end of this connection shows a keepalive timer; ours (no keepalive) does not.
    const rows = (): string => execFileSync('ss', ['-tnoH', 'state', 'established', `( sport = :${broker.ports.tcp} and dport = :${local} )`], { encoding: 'utf8' })
    for (let i = 0; i < 50 && !rows().includes('keepalive'); i++) await new Promise((resolve) => setTimeout(resolve, 20))
    expect(rows()).toMatch(/timer:\(keepalive,/)
    socket.destroy()
  })
})
