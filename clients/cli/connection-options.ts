import { Option, type Command } from 'commander'
import { showDefault } from '../../bin/usage.js'
import { isValidId } from '../../protocol/ids.js'
import { fastOpenTransportFactory } from '../sdk/fast-open-transport.js'
import { LowbandClient, type ClientOptions, type TokenSource } from '../sdk/index.js'
import { devSigningSecret, devTokenFunction } from './dev-token.js'
import { ownDeviceId, type DeviceRole } from './device-id.js'
import { UsageError } from './errors.js'
import type { CliIo } from './io.js'
import { stateDir } from './state-file.js'

export const DEFAULT_URL = 'mqtt://127.0.0.1:1883'
export const DEFAULT_DATA_DIR = './data'
/** The --state option of the commands that keep a device's cursor and keys. */
export function stateOption (): Option {
  return showDefault(new Option('--state <file>', 'device state file: cursor and end-to-end keys, owner-only'), '<user>-<device>.json in the state dir: <data-dir>/clients, or ~/.lowband/state with --token')
}

/** The flags every client command takes (commander's camelCase names). */
export interface ConnectionFlags {
  user?: string
  device?: string
  url?: string[]
  token?: string
  dataDir?: string
  jwtSecret?: string
}

export function addConnectionOptions (command: Command): Command {
  return command
    .addOption(new Option('--user <id>', 'your user id').env('LOWBAND_USER'))
    .addOption(showDefault(new Option('--device <id>', "this device's id").env('LOWBAND_DEVICE'), 'an id of its own kept per user in the state dir'))
    .addOption(showDefault(new Option('--url <url>', 'broker: mqtt://, mqtts://, ws:// or wss://; a cluster\'s nodes comma-separated or the option repeated, tried in turn').env('LOWBAND_URL').argParser(collectUrls), DEFAULT_URL))
    .addOption(new Option('--token <jwt>', 'device token').env('LOWBAND_TOKEN'))
    .addOption(showDefault(new Option('--data-dir <dir>', "without --token: mint a 1 h development token from this broker data directory's secret").env('LOWBAND_DATA_DIR'), DEFAULT_DATA_DIR))
    .addOption(new Option('--jwt-secret <secret>', 'without --token: mint the development token with this HS256 secret').env('LOWBAND_JWT_SECRET'))
}

export interface Connection {
  readonly userId: string
  readonly deviceId: string
  /** One broker, or a cluster's nodes tried in turn. */
  readonly urls: readonly string[]
  readonly token: TokenSource
  /** The data directory the token was minted from; undefined with --token. */
  readonly dataDir?: string
}

/**
 * Flags over environment over defaults; a missing or malformed id is a usage error. Without
 * --device, the command runs as its `role`'s own device (see device-id.ts).
 */
export async function resolveConnection (flags: ConnectionFlags, io: CliIo, role: DeviceRole): Promise<Connection> {
  const pick = (flag: string | undefined, variable: string): string | undefined => flag ?? nonEmpty(io.env[variable])
  const userId = pick(flags.user, 'LOWBAND_USER')
  if (userId === undefined) throw new UsageError('--user is required (or LOWBAND_USER)')
  if (!isValidId(userId)) throw new UsageError(`invalid --user ${JSON.stringify(userId)}: 1-64 of A-Z a-z 0-9 _ . @ -`)
  const urls = flags.url ?? splitUrls(nonEmpty(io.env.LOWBAND_URL) ?? DEFAULT_URL)
  for (const url of urls) {
    if (!/^(mqtts?|wss?):\/\/./i.test(url)) throw new UsageError(`invalid --url ${JSON.stringify(url)}: use mqtt://, mqtts://, ws:// or wss://`)
  }
  const token = pick(flags.token, 'LOWBAND_TOKEN')
  // Without a token, the data directory's secret is checked first: nothing is written beside a
  // broker that is not there.
  const signing = token === undefined ? { dataDir: pick(flags.dataDir, 'LOWBAND_DATA_DIR') ?? DEFAULT_DATA_DIR, jwtSecret: pick(flags.jwtSecret, 'LOWBAND_JWT_SECRET') } : undefined
  if (signing !== undefined) await devSigningSecret(signing)
  const deviceId = pick(flags.device, 'LOWBAND_DEVICE') ?? await ownDeviceId(stateDir({ dataDir: signing?.dataDir, homeDir: io.homeDir }), userId, role)
  if (!isValidId(deviceId)) throw new UsageError(`invalid --device ${JSON.stringify(deviceId)}: 1-64 of A-Z a-z 0-9 _ . @ -`)
  if (signing === undefined) return { userId, deviceId, urls, token: token! }
  return { userId, deviceId, urls, token: await devTokenFunction(userId, deviceId, signing), dataDir: signing.dataDir }
}

/** A client of the CLI: over TCP Fast Open on mqtt:// where it is built (clients/sdk/fast-open-transport.ts). */
export function createClient (connection: Connection, options: Partial<ClientOptions> = {}): LowbandClient {
  return new LowbandClient({ urls: connection.urls, userId: connection.userId, deviceId: connection.deviceId, token: connection.token, transportFactory: fastOpenTransportFactory(), ...options })
}

/** `--url a,b` and `--url a --url b` both name two brokers. */
function collectUrls (value: string, previous: string[] | undefined): string[] {
  return [...previous ?? [], ...splitUrls(value)]
}

function splitUrls (list: string): string[] {
  return list.split(',').map((url) => url.trim()).filter((url) => url !== '')
}

function nonEmpty (value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value
}
