import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt'
import { pino } from 'pino'
import { loadConfig } from '../../broker/config.js'
import type { PushChoice } from '../../broker/push.js'
import { startBroker, type BrokerDeps, type RunningBroker } from '../../broker/server.js'
import { mintDeviceToken, secretFromText } from '../../protocol/token.js'

export const SECRET = 'test-secret-0123456789abcdef'

export interface TestBroker extends RunningBroker {
  dataDir: string
  url: string
  /** Every log line the broker wrote, as text. */
  logs: string[]
  token (userId: string, options?: { ttl?: string, deviceId?: string }): Promise<string>
  /** Connects a chat device (`<user>/<device>`, token minted for the user) and subscribes to its subtree. */
  device (userId: string, deviceId: string, options?: IClientOptions & { subscribe?: boolean }): Promise<MqttClient>
  close (): Promise<void>
}

/**
 * A real broker on ephemeral loopback ports with a fresh data directory — or `dataDir`, which
 * close() keeps (a test restarts a broker on it) unless `removeDataDir`.
 */
export async function startTestBroker (flags: Record<string, unknown> = {}, dataDir?: string, options: { removeDataDir?: boolean, push?: PushChoice, storage?: BrokerDeps['storage'] } = {}): Promise<TestBroker> {
  const dir = dataDir ?? await mkdtemp(join(tmpdir(), 'lowband-test-'))
  const logs: string[] = []
  const sink = new Writable({ write (chunk: Buffer, _enc, done) { logs.push(chunk.toString()); done() } })
  const config = loadConfig({ host: '127.0.0.1', port: 0, wsPort: 0, httpPort: 0, dataDir: dir, jwtSecret: SECRET, logLevel: 'debug', ...flags }, {})
  const running = await startBroker(config, pino({ level: 'debug' }, sink), { ...(options.push === undefined ? {} : { push: options.push }), ...(options.storage === undefined ? {} : { storage: options.storage }) })
  const url = `mqtt://127.0.0.1:${running.ports.tcp}`
  const clients: MqttClient[] = []
  const broker: TestBroker = {
    ...running,
    stop: () => running.stop(),
    dataDir: dir,
    url,
    logs,
    token: (userId, options = {}) => mintDeviceToken({ userId, ttl: options.ttl ?? '1h', deviceId: options.deviceId, secret: secretFromText(SECRET) }),
    async device (userId, deviceId, options = {}) {
      const { subscribe = true, ...mqttOptions } = options
      const client = await connectMqtt(url, { clientId: `${userId}/${deviceId}`, username: userId, password: await broker.token(userId), ...mqttOptions })
      clients.push(client)
      if (subscribe) await client.subscribeAsync(`u/${userId}/#`, { qos: 1 })
      return client
    },
    async close () {
      await Promise.all(clients.map((c) => c.endAsync(true).catch(() => undefined)))
      await running.stop()
      if (dataDir === undefined || options.removeDataDir === true) await rm(dir, { recursive: true, force: true })
    }
  }
  return broker
}

/** Connects and resolves on CONNACK; rejects with the refusal (its `code` is the CONNACK return code). */
export function connectMqtt (url: string, options: IClientOptions): Promise<MqttClient> {
  return new Promise((resolve, reject) => {
    const client = mqtt.connect(url, { reconnectPeriod: 0, connectTimeout: 5000, ...options })
    client.once('connect', () => resolve(client))
    client.once('error', (error) => {
      client.end(true)
      reject(error)
    })
  })
}
