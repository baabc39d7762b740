import type { Command } from 'commander'
import { isValidId } from '../../protocol/ids.js'
import { LowbandClient, type ClientOptions, type TokenSource } from '../sdk/index.js'
import { devTokenFunction } from './dev-token.js'
import { UsageError } from './errors.js'
import type { CliIo } from './io.js'

export const DEFAULT_URL = 'mqtt://127.0.0.1:1883'
export const DEFAULT_DEVICE = 'cli'
export const DEFAULT_DATA_DIR = './data'
/** The --state option of the commands that keep a device's cursor and keys. */
export const STATE_OPTION = 'device state file: cursor and end-to-end keys, owner-only (default <data-dir>/clients/<user>-<device>.json, or ~/.lowband/state/<user>-<device>.json with --token)'

/** The flags every client command takes (commander's camelCase names). */
export interface ConnectionFlags {
  user?: string
  device?: string
  url?: string
  token?: string
  dataDir?: string
  jwtSecret?: string
}

export function addConnectionOptions (command: Command): Command {
  return command
    .option('--user <id>', 'your user id [LOWBAND_USER]')
    .option('--device <id>', `this device's id (default ${DEFAULT_DEVICE}) [LOWBAND_DEVICE]`)
    .option('--url <url>', `broker: mqtt://, mqtts://, ws:// or wss:// (default ${DEFAULT_URL}) [LOWBAND_URL]`)
    .option('--token <jwt>', 'device token [LOWBAND_TOKEN]')
    .option('--data-dir <dir>', `without --token: mint a 1 h development token from this broker data directory's secret (default ${DEFAULT_DATA_DIR}) [LOWBAND_DATA_DIR]`)
    .option('--jwt-secret <secret>', 'without --token: mint the development token with this HS256 secret [LOWBAND_JWT_SECRET]')
}

export interface Connection {
  readonly userId: string
  readonly deviceId: string
  readonly url: string
  readonly token: TokenSource
  /** The data directory the token was minted from; undefined with --token. */
  readonly dataDir?: string
}

/** Flags over environment over defaults; a missing or malformed id is a usage error. */
export async function resolveConnection (flags: ConnectionFlags, io: CliIo): Promise<Connection> {
  const pick = (flag: string | undefined, variable: string): string | undefined => flag ?? nonEmpty(io.env[variable])
  const userId = pick(flags.user, 'LOWBAND_USER')
  if (userId === undefined) throw new UsageError('--user is required (or LOWBAND_USER)')
  if (!isValidId(userId)) throw new UsageError(`invalid --user ${JSON.stringify(userId)}: 1-64 of A-Z a-z 0-9 _ . @ -`)
  const deviceId = pick(flags.device, 'LOWBAND_DEVICE') ?? DEFAULT_DEVICE
  if (!isValidId(deviceId)) throw new UsageError(`invalid --device ${JSON.stringify(deviceId)}: 1-64 of A-Z a-z 0-9 _ . @ -`)
  const url = pick(flags.url, 'LOWBAND_URL') ?? DEFAULT_URL
  if (!/^(mqtts?|wss?):\/\/./i.test(url)) throw new UsageError(`invalid --url ${JSON.stringify(url)}: use mqtt://, mqtts://, ws:// or wss://`)
  const token = pick(flags.token, 'LOWBAND_TOKEN')
  if (token !== undefined) return { userId, deviceId, url, token }
  const dataDir = pick(flags.dataDir, 'LOWBAND_DATA_DIR') ?? DEFAULT_DATA_DIR
  const jwtSecret = pick(flags.jwtSecret, 'LOWBAND_JWT_SECRET')
  return { userId, deviceId, url, token: await devTokenFunction(userId, deviceId, { dataDir, jwtSecret }), dataDir }
}

export function createClient (connection: Connection, options: Partial<ClientOptions> = {}): LowbandClient {
  return new LowbandClient({ url: connection.url, userId: connection.userId, deviceId: connection.deviceId, token: connection.token, ...options })
}

function nonEmpty (value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value
}
