import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestBroker, type TestBroker } from '../helpers/broker.js'
import { sendRaw } from '../helpers/chat.js'
import { Inbox } from '../helpers/messages.js'

/** A PUBLISH fixed header announcing `length` bytes to follow (MQTT's variable-length integer). */
function publishHeader (length: number): Buffer {
  const bytes = [0x32]
  do {
    let byte = length % 128
    length = Math.floor(length / 128)
    if (length > 0) byte |= 0x80
    bytes.push(byte)
  } while (length > 0)
  return Buffer.from(bytes)
}

describe('packet size limit', () => {
  let broker: TestBroker
  beforeAll(async () => { broker = await startTestBroker({ maxPayload: 1024 }) })
  afterAll(() => broker.close())

  it('closes a connection whose packet announces more than the payload limit plus a topic, before buffering it', async () => {
    const device = await broker.device('mallory', 'phone', { subscribe: false })
    // Closed with a FIN or, with the client's bytes still unread at the broker, a reset: either is the close.
    device.on('error', () => undefined)
    device.stream.on('error', () => undefined)
    const closed = new Promise((resolve) => device.stream.once('close', resolve))
    // 100 MiB announced; without the limit the broker would buffer everything sent after it.
    device.stream.write(publishHeader(100 * 1024 * 1024))
    let sent = 0
    const chunk = Buffer.alloc(64 * 1024)
    const feeding = setInterval(() => {
      if (device.stream.writable) {
        device.stream.write(chunk)
        sent += chunk.length
      }
    }, 5)
    try {
      await closed
    } finally {
      clearInterval(feeding)
    }
    expect(sent).toBeLessThan(8 * 1024 * 1024)
    // Everyone else is unaffected.
    const alice = await broker.device('alice', 'phone')
    const bob = new Inbox(await broker.device('bob', 'phone'))
    await sendRaw(alice, 'bob', 'still here')
    await bob.wait('inbox')
  })

  it('still accepts a send close to the payload limit', async () => {
    const alice = await broker.device('alice', 'laptop')
    const bob = new Inbox(await broker.device('bob', 'tablet'))
    await sendRaw(alice, 'bob', new Uint8Array(1000))
    await bob.wait('inbox')
  })
})
