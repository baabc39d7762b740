import { statSync } from 'node:fs'
import { z } from 'zod'
import { ConfigError } from './config-error.js'
import { START_OPTIONS } from './options.js'

const port = z.coerce.number().int().min(0).max(65535)
const flag = z.union([z.boolean(), z.enum(['true', 'false', '1', '0', 'yes', 'no'])])
  .transform((v) => v === true || v === 'true' || v === '1' || v === 'yes')

const schema = z.object({
  host: z.string().min(1).default('0.0.0.0'),
  port: port.default(1883),
  wsPort: port.default(8080),
  tlsPort: port.default(8883),
  tlsCert: z.string().min(1).optional(),
  tlsKey: z.string().min(1).optional(),
  httpPort: port.default(9090),
  dataDir: z.string().min(1).default('./data').refine(isNotAFile, 'must be a directory (it is created when missing), not a file'),
  postgres: z.string().regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL').optional(),
  jwtSecret: z.string().min(16, 'must be at least 16 characters').optional(),
  jwtPublicKey: z.string().min(1).optional(),
  topicPolicy: z.enum(['deny', 'open']).default('deny'),
  allowAnonymous: flag.default(false),
  maxPayload: z.coerce.number().int().min(256).max(16 * 1024 * 1024).default(64 * 1024), // bytes
  rateLimit: z.coerce.number().positive().max(100_000).default(50), // publishes per second
  rateBurst: z.coerce.number().int().min(1).max(100_000).default(200), // publishes
  maxGroupSize: z.coerce.number().int().min(2).max(1024).default(256), // members
  shutdownTimeout: z.coerce.number().positive().max(600).default(10), // seconds
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info')
})

/** A data directory that does not exist yet is fine (it is created); a file in its place is not. */
function isNotAFile (path: string): boolean {
  try {
    return statSync(path, { throwIfNoEntry: false })?.isDirectory() ?? true
  } catch (error) {
    // A file where a parent directory should be; any other failure is reported when the store opens.
    return (error as NodeJS.ErrnoException).code !== 'ENOTDIR'
  }
}

export type Config = Readonly<z.infer<typeof schema>>

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
  return Object.freeze(config)
}
