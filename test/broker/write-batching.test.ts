import { Duplex } from 'node:stream'
import { Aedes } from 'aedes'
import mqttPacket from 'mqtt-packet'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { batchSocketWrites } from '../../broker/write-batching.js'

/** An in-memory connection that records each write it gets (chunks per write): the chunks of one `writev` are one write. */
function recordingConnection () {
  const writes: number[] = []
  const conn = new Duplex({
    read () {},
    write (_chunk, _encoding, done) { writes.push(1); done() },
    writev (chunks, done) { writes.push(chunks.length); done() }
  })
  return { conn, writes }
}

const packet = (n: number) => ({ cmd: 'publish' as const, topic: `u/ann/${n}`, payload: Buffer.from('x'), qos: 0 as const, retain: false, dup: false })
const turnEnds = () => new Promise((resolve) => setImmediate(resolve))

describe('socket writes batched per turn of the event loop', () => {
  let broker: Aedes
  beforeEach(async () => { broker = await Aedes.createBroker() })
  afterEach(() => new Promise<void>((resolve) => broker.close(() => resolve())))

  /** Two packets to one connection from two ticks of one turn: the second after mqtt-packet's uncork of the first. */
  const writeFromTwoTicks = async (conn: Duplex) => {
    mqttPacket.writeToStream(packet(1), conn)
    await new Promise<void>((resolve) => process.nextTick(() => { mqttPacket.writeToStream(packet(2), conn); resolve() }))
    await turnEnds()
    await turnEnds()
  }

  /** The writes that carry two packets written to one connection from two ticks of one turn. */
  const writesOfTwoTicks = async (batched: boolean): Promise<number> => {
    if (batched) batchSocketWrites(broker)
    const { conn, writes } = recordingConnection()
    broker.handle(conn)
    await writeFromTwoTicks(conn)
    conn.destroy()
    return writes.length
  }

  it('sends the packets a connection gets in one turn in one write', async () => {
    expect(await writesOfTwoTicks(true)).toBe(1)
  })

  it('is what makes the difference: without it, each tick is its own write', async () => {
    expect(await writesOfTwoTicks(false)).toBe(2)
  })

  it('flushes at once what is written while the connection ends', async () => {
    batchSocketWrites(broker)
    const { conn, writes } = recordingConnection()
    broker.handle(conn)
    mqttPacket.writeToStream(packet(1), conn)
    conn.end()
    // Before the turn ends: end() flushed it.
    expect(writes).toHaveLength(1)
  })
})
