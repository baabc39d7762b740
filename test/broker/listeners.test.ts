import { execFileSync } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { InboxMessage } from '../../protocol/envelopes.js'
import { connectMqtt, startTestBroker, type TestBroker } from '../helpers/broker.js'
import { sendRaw } from '../helpers/chat.js'
import { Inbox } from '../helpers/messages.js'

describe('listeners: TCP, WebSocket, TLS and HTTP', () => {
  let broker: TestBroker
  let certDir: string
  beforeAll(async () => {
    certDir = await mkdtemp(join(tmpdir(), 'lowband-tls-'))
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1',
      '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1',
      '-keyout', join(certDir, 'key.pem'), '-out', join(certDir, 'cert.pem')], { stdio: 'ignore' })
    broker = await startTestBroker({ tlsPort: 0, tlsCert: join(certDir, 'cert.pem'), tlsKey: join(certDir, 'key.pem') })
  })
  afterAll(async () => {
    await broker.close()
    await rm(certDir, { recursive: true, force: true })
  })

  it('carries chat between a WebSocket device and a TLS device', async () => {
    const wsBob = await connectMqtt(`ws://127.0.0.1:${broker.ports.ws}/mqtt`, { clientId: 'bob/browser', username: 'bob', password: await broker.token('bob') })
    await wsBob.subscribeAsync('u/bob/#', { qos: 1 })
    const bob = new Inbox(wsBob)
    const tlsAlice = await connectMqtt(`mqtts://127.0.0.1:${broker.ports.tls!}`, {
      clientId: 'alice/phone', username: 'alice', password: await broker.token('alice'), rejectUnauthorized: false
    })
    await sendRaw(tlsAlice, 'bob', 'over tls, to a browser')
    const [m] = await bob.wait('inbox')
    expect(InboxMessage.decode(m!.payload).body).toBe('over tls, to a browser')
    await Promise.all([wsBob.endAsync(), tlsAlice.endAsync()])
  })

  it('serves /healthz, /readyz and Prometheus /metrics', async () => {
    const base = `http://127.0.0.1:${broker.ports.http}`
    expect((await fetch(`${base}/healthz`)).status).toBe(200)
    expect(await (await fetch(`${base}/readyz`)).text()).toBe('ready\n')
    const metrics = await (await fetch(`${base}/metrics`)).text()
    expect(metrics).toMatch(/^lowband_messages_stored_total [1-9]/m)
    expect(metrics).toContain('lowband_connections')
    expect((await fetch(`${base}/nope`)).status).toBe(404)
  })
})
