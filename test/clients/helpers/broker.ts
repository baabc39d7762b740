import { execFile } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadConfig } from '../../../broker/config.js'
import { createLogger } from '../../../broker/logger.js'
import { startBroker, type RunningBroker } from '../../../broker/server.js'
import { mintToken } from '../../../broker/token.js'
import { LowbandClient, type ClientOptions } from '../../../clients/sdk/index.js'

export const JWT_SECRET = 'test-secret-'.padEnd(32, 'x')

/** An in-process broker on ephemeral ports with its own data directory, and clients for it. */
export class TestBroker {
  readonly dataDir: string
  readonly broker: RunningBroker
  readonly #clients = new Set<LowbandClient>()

  private constructor (dataDir: string, broker: RunningBroker) {
    this.dataDir = dataDir
    this.broker = broker
  }

  /** With `tls`, also a TLS listener with a self-signed certificate for 127.0.0.1 (`<dataDir>/cert.pem`). */
  static async start (options: { tls?: boolean } = {}): Promise<TestBroker> {
    const dataDir = await mkdtemp(join(tmpdir(), 'lowband-clients-'))
    const tls = options.tls === true ? await selfSignedCertificate(dataDir) : {}
    const config = loadConfig({ host: '127.0.0.1', port: 0, wsPort: 0, httpPort: 0, tlsPort: 0, dataDir, jwtSecret: JWT_SECRET, logLevel: 'silent', ...tls }, {})
    return new TestBroker(dataDir, await startBroker(config, createLogger('silent')))
  }

  get url (): string {
    return `mqtt://127.0.0.1:${this.broker.ports.tcp}`
  }

  token (userId: string): Promise<string> {
    return mintToken({ userId, ttl: '1h', jwtSecret: JWT_SECRET, dataDir: this.dataDir })
  }

  /** A client (not yet connected) that is closed by stop(). */
  async client (userId: string, deviceId: string, options: Partial<ClientOptions> = {}): Promise<LowbandClient> {
    const client = new LowbandClient({ url: this.url, userId, deviceId, token: await this.token(userId), ...options })
    this.#clients.add(client)
    return client
  }

  /** A connected client whose first replay is done. */
  async connected (userId: string, deviceId: string, options: Partial<ClientOptions> = {}): Promise<LowbandClient> {
    const client = await this.client(userId, deviceId, options)
    await client.connect()
    await client.synced()
    return client
  }

  async stop (): Promise<void> {
    await Promise.all([...this.#clients].map((client) => client.close()))
    await this.broker.stop()
    await rm(this.dataDir, { recursive: true, force: true })
  }
}

async function selfSignedCertificate (dir: string): Promise<{ tlsCert: string, tlsKey: string }> {
  const tlsCert = join(dir, 'cert.pem')
  const tlsKey = join(dir, 'key.pem')
  await new Promise<void>((resolve, reject) => execFile('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
    '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', tlsKey, '-out', tlsCert
  ], (error) => error ? reject(error) : resolve()))
  return { tlsCert, tlsKey }
}
