import { readFileSync } from 'node:fs'
import { loadConfig } from '../broker/config.js'
import { createLogger } from '../broker/logger.js'
import { startBroker } from '../broker/server.js'
import { createFcmProvider } from '../push/fcm.js'
import { JWT_SECRET } from './brokers.js'
import { fcmAgent, fixedCredential } from './fcm-endpoint.js'

/**
 * lowband for the push section, as `lowband start` would run it but with firebase-admin's
 * connections taken to the bench's local FCM endpoint (which `lowband start` cannot be told to do),
 * or with push off. Arguments: data directory, then `off` or the endpoint's port, project id and
 * CA file. Prints the "lowband ready" log line like `start`; SIGTERM stops it.
 */
const [dataDir, mode, projectId, caFile] = process.argv.slice(2) as [string, string, string | undefined, string | undefined]
const config = loadConfig({
  host: '127.0.0.1', port: 0, wsPort: 0, httpPort: 0, dataDir, jwtSecret: JWT_SECRET,
  rateLimit: 100_000, rateBurst: 100_000, logLevel: 'info'
}, {})
const push = mode === 'off' ? 'off' as const : createFcmProvider({ projectId: projectId!, credential: fixedCredential, httpAgent: fcmAgent(Number(mode), readFileSync(caFile!, 'utf8')) })
const broker = await startBroker(config, createLogger(config.logLevel), { push })
process.once('SIGTERM', () => { void broker.stop().then(() => process.exit(0)) })
