import { Option, type Command } from 'commander'
import { showDefault } from '../../bin/usage.js'
import { DEFAULT_DATA_DIR } from './connection-options.js'
import { mintDevToken } from './dev-token.js'
import type { CliIo } from './io.js'
import { runCommand } from './run.js'

interface TokenFlags {
  device?: string
  ttl: string
  dataDir?: string
  jwtSecret?: string
}

/** `lowband token <userId>`: a device token for development, signed like the CLI's own. */
export function registerToken (program: Command, io: CliIo): Command {
  const command = program.command('token <userId>')
    .description('print a device token signed with --jwt-secret or the data directory\'s development secret')
    .option('--device <id>', 'bind the token to one device id')
    .option('--ttl <duration>', 'lifetime: seconds, or 30m, 1h, 7d', '1h')
    .addOption(showDefault(new Option('--data-dir <dir>', 'data directory holding the development secret').env('LOWBAND_DATA_DIR'), DEFAULT_DATA_DIR))
    // The secret is read from the environment here, never made a default: help would print it.
    .addOption(new Option('--jwt-secret <secret>', 'HS256 secret').env('LOWBAND_JWT_SECRET'))
  return command.action(runCommand(io, command, async (userId: string, flags: TokenFlags) => {
    const dataDir = flags.dataDir ?? io.env.LOWBAND_DATA_DIR ?? DEFAULT_DATA_DIR
    const jwtSecret = flags.jwtSecret ?? io.env.LOWBAND_JWT_SECRET
    await io.writeOut(await mintDevToken({ userId, deviceId: flags.device, ttl: flags.ttl, jwtSecret, dataDir }) + '\n')
  }))
}

