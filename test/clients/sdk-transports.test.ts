import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { mqttTransportFactory, type ChatMessage } from '../../clients/sdk/index.js'
import { TestBroker } from './helpers/broker.js'
import { next } from './helpers/events.js'

describe('the mqtt.js transport over every kind of link', () => {
  let broker: TestBroker
  let ca: string
  beforeAll(async () => {
    broker = await TestBroker.start({ tls: true })
    ca = await readFile(join(broker.dataDir, 'cert.pem'), 'utf8')
    await (await broker.connected('bob', 'setup')).close()
  })
  afterAll(async () => { await broker.stop() })

  const urls = (): Array<[string, string]> => [
    ['TCP', `mqtt://127.0.0.1:${broker.broker.ports.tcp}`],
    ['TLS', `mqtts://127.0.0.1:${broker.broker.ports.tls!}`],
    ['WebSocket', `ws://127.0.0.1:${broker.broker.ports.ws}/mqtt`],
    // lowband's WebSocket path is /mqtt; a URL without a path gets it.
    ['WebSocket without a path', `ws://127.0.0.1:${broker.broker.ports.ws}`]
  ]

  it.each(['TCP', 'TLS', 'WebSocket', 'WebSocket without a path'])('sends and receives over %s', async (kind) => {
    const url = urls().find(([name]) => name === kind)![1]
    const bob = await broker.connected('bob', `on-${kind.replaceAll(' ', '-')}`)
    const alice = await broker.connected('alice', `on-${kind.replaceAll(' ', '-')}`, { url, transportFactory: mqttTransportFactory({ ca }) })
    const received = next<ChatMessage>((h) => bob.onMessage(h))
    const sent = await alice.send('bob', `over ${kind}`)
    expect(await received).toMatchObject({ id: sent.id, text: `over ${kind}` })
  })

  it('refuses a TLS server it cannot verify', async () => {
    const client = await broker.client('alice', 'strict', { url: `mqtts://127.0.0.1:${broker.broker.ports.tls!}` })
    await expect(client.connect()).rejects.toThrow(/self[- ]signed/i)
  })

  it('rejects a URL scheme it cannot speak', async () => {
    await expect(broker.client('alice', 'http', { url: 'http://127.0.0.1:1' })).rejects.toThrow(TypeError)
  })
})
