import { readFileSync } from 'node:fs'
import { loadConfig } from '../broker/config.js'
import { createLogger } from '../broker/logger.js'
import { startBroker } from '../broker/server.js'
import { createWorkerProvider } from '../push/worker-provider.js'
import { JWT_SECRET } from './brokers.js'

/**
 * lowband for the push section, as `lowband start --fcm-service-account` runs it (FCM in a worker
 * thread) but with firebase-admin's connections taken to the bench's local FCM endpoint, which
 * `lowband start` cannot be told to do — or with push off. Arguments: data directory, then `off` or
 * the endpoint's port, project id and CA file. Prints the "lowband ready" log line like `start`;
 * SIGTERM stops it.
 */
const [dataDir, mode, projectId, caFile] = process.argv.slice(2) as [string, string, string | undefined, string | undefined]
const config = loadConfig({
  host: '127.0.0.1', port: 0, wsPort: 0, httpPort: 0, dataDir, jwtSecret: JWT_SECRET,
  rateLimit: 100_000, rateBurst: 100_000, logLevel: 'info'
}, {})
const push = mode === 'off'
  ? 'off' as const
  : await createWorkerProvider({ module: new URL('./fcm-endpoint.js', import.meta.url).href, factory: 'localFcmProvider', options: { port: Number(mode), ca: readFileSync(caFile!, 'utf8'), projectId } })
const broker = await startBroker(config, createLogger(config.logLevel), { push })
process.once('SIGTERM', () => { void broker.stop().then(() => process.exit(0)) })
