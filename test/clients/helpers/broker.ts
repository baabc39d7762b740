import { execFile } from 'node:child_process'
import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { RunningBroker } from '../../../broker/server.js'
import { LowbandClient, type ClientOptions } from '../../../clients/sdk/index.js'
import { SECRET, startTestBroker, type TestBroker as RawTestBroker } from '../../helpers/broker.js'

export const JWT_SECRET = SECRET

/** The broker of test/helpers/broker.ts, with SDK clients for it instead of raw MQTT devices. */
export class TestBroker {
  readonly #base: RawTestBroker
  readonly #clients = new Set<LowbandClient>()

  private constructor (base: RawTestBroker) {
    this.#base = base
  }

  /** With `tls`, also a TLS listener with a self-signed certificate for 127.0.0.1 (`<dataDir>/cert.pem`); `flags`: more start options. */
  static async start (options: { tls?: boolean, flags?: Record<string, unknown> } = {}): Promise<TestBroker> {
    const dataDir = await mkdtemp(join(tmpdir(), 'lowband-clients-'))
    const tls = options.tls === true ? { tlsPort: 0, ...await selfSignedCertificate(dataDir) } : {}
    return new TestBroker(await startTestBroker({ ...tls, ...options.flags }, dataDir, { removeDataDir: true }))
  }

  /** Every log line the broker wrote, as text. */
  get logs (): readonly string[] {
    return this.#base.logs
  }

  get broker (): RunningBroker {
    return this.#base
  }

  get dataDir (): string {
    return this.#base.dataDir
  }

  get url (): string {
    return this.#base.url
  }

  token (userId: string): Promise<string> {
    return this.#base.token(userId)
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
    await this.#base.close()
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
