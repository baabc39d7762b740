import { statSync } from 'node:fs'
import { z } from 'zod'
import { PUBLISH_BURST } from '../protocol/flow-control.js'
import { DEFAULT_RECEIPT_WINDOW_MS } from '../hooks/receipt-windows.js'
import { CONSISTENCY_LEVELS } from '../storage/cassandra/cql-client.js'
import { ConfigError } from './config-error.js'
import { DEFAULT_MAX_PENDING } from './connection-gate.js'
import { defaultMaxConnections } from './open-files.js'
import { START_OPTIONS } from './options.js'

const port = z.coerce.number().int().min(0).max(65535)
const flag = z.union([z.boolean(), z.enum(['true', 'false', '1', '0', 'yes', 'no'])])
  .transform((v) => v === true || v === 'true' || v === '1' || v === 'yes')

/** A size in bytes: a whole number, or a number with an IEC unit (`64KiB`, `1MiB`, `1.5GiB`). */
const BYTE_UNITS: Readonly<Record<string, number>> = { B: 1, KiB: 2 ** 10, MiB: 2 ** 20, GiB: 2 ** 30 }
const byteSize = z.union([z.number(), z.string().trim()]).transform((value, check) => {
  const match = typeof value === 'number' ? null : /^(\d+(?:\.\d+)?)\s*(B|KiB|MiB|GiB)?$/.exec(value)
  const bytes = typeof value === 'number' ? value : match === null ? Number.NaN : Math.round(Number(match[1]) * BYTE_UNITS[match[2] ?? 'B']!)
  if (!Number.isSafeInteger(bytes)) check.addIssue({ code: 'custom', message: 'must be a whole number of bytes, or a number with B, KiB, MiB or GiB' })
  return bytes
}).pipe(z.number().int())

const schema = z.object({
  host: z.string().min(1).default('0.0.0.0'),
  port: port.default(1883),
  wsPort: port.default(8080),
  tlsPort: port.default(8883),
  tlsCert: z.string().min(1).optional(),
  tlsKey: z.string().min(1).optional(),
  httpPort: port.default(9090),
  web: flag.default(true), // serve the web chat page at / on the HTTP port
  dataDir: z.string().min(1).default('./data').refine(isNotAFile, 'must be a directory (it is created when missing), not a file'),
  postgres: z.string().regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL').optional(),
  redis: z.string().regex(/^rediss?:\/\//, 'must be a redis:// or rediss:// URL').optional(),
  nodeId: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, '1-64 of A-Z a-z 0-9 . _ -').optional(),
  clusterName: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, '1-64 of A-Z a-z 0-9 . _ -').default('lowband'),
  nodeHeartbeat: z.coerce.number().min(0.1).max(300).default(10), // seconds
  cassandra: z.string().transform((hosts) => hosts.split(',').map((host) => host.trim()).filter((host) => host !== ''))
    .pipe(z.array(z.string().regex(/^([A-Za-z0-9.-]+|\[[0-9A-Fa-f:]+\])(:\d{1,5})?$/, 'comma-separated host or host:port (port default 9042)')).min(1)).optional(),
  cassandraKeyspace: z.string().regex(/^[A-Za-z][A-Za-z0-9_]{0,47}$/, 'a keyspace name: a letter, then up to 47 letters, digits or _').optional(),
  cassandraDatacenter: z.string().min(1).default('datacenter1'), // Cassandra's default datacenter name
  cassandraConsistency: z.enum(CONSISTENCY_LEVELS).default('localQuorum'),
  jwtSecret: z.string().min(16, 'must be at least 16 characters').optional(),
  jwtPublicKey: z.string().min(1).optional(),
  topicPolicy: z.enum(['deny', 'open']).default('deny'),
  acl: z.string().min(1).optional(),
  allowAnonymous: flag.default(false),
  maxPayload: byteSize.pipe(z.number().min(256).max(16 * 1024 * 1024)).default(64 * 1024), // bytes
  rateLimit: z.coerce.number().positive().max(100_000).default(50), // publishes per second
  rateBurst: z.coerce.number().int().min(1).max(100_000).default(PUBLISH_BURST), // publishes (200; the SDK's window stays under it)
  rateBytes: byteSize.pipe(z.number().min(1024).max(2 ** 30)).default(64 * 1024), // payload bytes per second
  rateBytesBurst: byteSize.pipe(z.number().min(1024).max(2 ** 30)).optional(), // payload bytes; default max(1 MiB, maxPayload)
  maxQueuedBytes: byteSize.pipe(z.number().min(64 * 1024).max(2 ** 30)).default(2 ** 20), // bytes
  maxConnections: z.coerce.number().int().min(1).max(10_000_000).default(defaultMaxConnections), // connections
  maxPending: z.coerce.number().int().min(1).max(10_000_000).default(DEFAULT_MAX_PENDING), // connections (4096)
  maxPendingPerIp: z.coerce.number().int().min(1).max(1_000_000).default(128), // connections
  connectTimeout: z.coerce.number().positive().max(600).default(10), // seconds
  acceptProcess: flag.default(true), // accept connections in a child process (broker/accept-process.ts)
  maxGroupSize: z.coerce.number().int().min(2).max(1024).default(256), // members
  fcmServiceAccount: z.string().min(1).optional(),
  pushGrace: z.coerce.number().min(0).max(3600).default(10), // seconds
  pushWindow: z.coerce.number().min(0).max(3600).default(30), // seconds
  pushTtl: z.coerce.number().int().min(0).max(28 * 86_400).default(86_400), // seconds; FCM keeps a push at most 28 days
  pushPriorityDirect: z.enum(['high', 'normal']).default('high'),
  pushPriorityGroup: z.enum(['high', 'normal']).default('normal'),
  pushQueue: z.coerce.number().int().min(1).max(1_000_000).default(10_000), // pushes
  receiptWindow: z.coerce.number().int().min(0).max(10_000).default(DEFAULT_RECEIPT_WINDOW_MS), // milliseconds
  requireE2e: flag.default(false),
  shutdownTimeout: z.coerce.number().positive().max(600).default(10), // seconds
  s3Bucket: z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'an S3 bucket name (3-63 of a-z 0-9 . -)').optional(),
  s3Endpoint: z.string().regex(/^https?:\/\/./, 'an http:// or https:// URL').optional(),
  s3Region: z.string().min(1).optional(),
  s3ForcePathStyle: flag.default(false),
  s3AccessKeyId: z.string().min(1).optional(),
  s3SecretAccessKey: z.string().min(1).optional(),
  mediaMaxBytes: z.coerce.number().int().min(1).max(2 ** 31).default(16 * 1024 * 1024), // bytes
  mediaTypes: z.string().transform((list) => list.split(',').map((t) => t.trim().toLowerCase()).filter((t) => t !== ''))
    .pipe(z.array(z.string().regex(/^([a-z0-9][a-z0-9!#$&^_.+-]*\/([a-z0-9][a-z0-9!#$&^_.+-]*|\*)|\*\/\*)$/, 'type/subtype, type/* or */*')).min(1))
    .default(['image/*', 'audio/*', 'video/*', 'application/*', 'text/plain']),
  mediaUrlTtl: z.coerce.number().int().min(60).max(7 * 24 * 3600).default(15 * 60), // seconds (S3 allows at most 7 days)
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info')
})

/**
 * A cluster is nodes sharing one message store and one Redis: nodes that each keep messages in their
 * own embedded store would hand out the same sequence numbers twice, so --redis needs --postgres.
 * A node's id must be fixed (not random) so that its sessions and wills outlive a restart.
 */
function checkCluster (config: z.infer<typeof schema>): void {
  if (config.redis === undefined) {
    if (config.nodeId !== undefined) throw new ConfigError('--node-id (LOWBAND_NODE_ID) names a cluster node: it needs --redis (LOWBAND_REDIS_URL)')
    return
  }
  if (config.postgres === undefined) {
    throw new ConfigError('--redis (LOWBAND_REDIS_URL) joins nodes that share one message store: it needs --postgres (LOWBAND_POSTGRES_URL)')
  }
  if (config.nodeId === undefined) {
    throw new ConfigError('--redis (LOWBAND_REDIS_URL) needs --node-id (LOWBAND_NODE_ID): a fixed name per node, kept across restarts')
  }
}

/** A data directory that does not exist yet is fine (it is created); a file in its place is not. */
function isNotAFile (path: string): boolean {
  try {
    return statSync(path, { throwIfNoEntry: false })?.isDirectory() ?? true
  } catch (error) {
    // A file where a parent directory should be; any other failure is reported when the store opens.
    return (error as NodeJS.ErrnoException).code !== 'ENOTDIR'
  }
}

export type Config = Readonly<Omit<z.infer<typeof schema>, 'rateBytesBurst'> & { rateBytesBurst: number }>

/**
 * Validates the start options once, flags over environment over defaults, and freezes the result.
 * A bad value is a ConfigError naming the flag and the variable that set it.
 */
export function loadConfig (flags: Record<string, unknown>, env: NodeJS.ProcessEnv = process.env): Config {
  const raw: Record<string, unknown> = {}
  for (const option of START_OPTIONS) {
    const value = flags[option.key] ?? env[option.env]
    if (value !== undefined && value !== '') raw[option.key] = value
  }
  const parsed = schema.safeParse(raw)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!
    const option = START_OPTIONS.find((o) => o.key === issue.path[0])
    const name = option === undefined ? String(issue.path[0]) : `${option.flag.split(' ')[0]} (${option.env})`
    const got = option === undefined || option.secret === true ? '' : `, got ${JSON.stringify(raw[option.key])}`
    throw new ConfigError(`invalid ${name}: ${issue.message}${got}`)
  }
  const config = parsed.data
  if ((config.tlsCert === undefined) !== (config.tlsKey === undefined)) {
    throw new ConfigError('--tls-cert (LOWBAND_TLS_CERT) and --tls-key (LOWBAND_TLS_KEY) go together: give both or neither')
  }
  if (config.jwtSecret !== undefined && config.jwtPublicKey !== undefined) {
    throw new ConfigError('--jwt-secret (LOWBAND_JWT_SECRET) and --jwt-public-key (LOWBAND_JWT_PUBLIC_KEY) exclude each other: give one')
  }
  if (config.acl !== undefined && config.topicPolicy !== 'open') {
    throw new ConfigError('--acl (LOWBAND_ACL) governs topics outside the chat namespace: it needs --topic-policy open (LOWBAND_TOPIC_POLICY)')
  }
  if ((config.s3AccessKeyId === undefined) !== (config.s3SecretAccessKey === undefined)) {
    throw new ConfigError('--s3-access-key-id (LOWBAND_S3_ACCESS_KEY_ID) and --s3-secret-access-key (LOWBAND_S3_SECRET_ACCESS_KEY) go together: give both or neither')
  }
  checkCluster(config)
  if ((config.cassandra === undefined) !== (config.cassandraKeyspace === undefined)) {
    throw new ConfigError('--cassandra (LOWBAND_CASSANDRA) and --cassandra-keyspace (LOWBAND_CASSANDRA_KEYSPACE) go together: give both or neither')
  }
  if (config.rateBytesBurst !== undefined && config.rateBytesBurst < config.maxPayload) {
    throw new ConfigError(`--rate-bytes-burst (LOWBAND_RATE_BYTES_BURST) must be at least --max-payload (${config.maxPayload} bytes), or a payload of that size could never be sent`)
  }
  return Object.freeze({ ...config, rateBytesBurst: config.rateBytesBurst ?? Math.max(2 ** 20, config.maxPayload) })
}
