import type { Command } from 'commander'
import { mintDevToken } from './dev-token.js'
import type { CliIo } from './io.js'
import { runCommand } from './run.js'

/** `lowband token <userId>`: a device token for development, signed like the CLI's own. */
export function registerToken (program: Command, io: CliIo): Command {
  return program.command('token <userId>')
    .description('print a device token signed with --jwt-secret or the data directory\'s development secret')
    .option('--device <id>', 'bind the token to one device id')
    .option('--ttl <duration>', 'lifetime: seconds, or 30m, 1h, 7d', '1h')
    .option('--data-dir <dir>', 'data directory holding the development secret [LOWBAND_DATA_DIR]', io.env.LOWBAND_DATA_DIR ?? './data')
    .option('--jwt-secret <secret>', 'HS256 secret [LOWBAND_JWT_SECRET]', io.env.LOWBAND_JWT_SECRET)
    .action(runCommand(io, async (userId: string, options: { device?: string, ttl: string, dataDir: string, jwtSecret?: string }) => {
      await io.writeOut(await mintDevToken({ userId, deviceId: options.device, ttl: options.ttl, jwtSecret: options.jwtSecret, dataDir: options.dataDir }) + '\n')
    }))
}
