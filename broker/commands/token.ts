import type { Command } from 'commander'
import { mintToken } from '../token.js'

export function registerToken (program: Command): void {
  program.command('token <userId>')
    .description('print a device token signed with --jwt-secret or the data directory\'s development secret')
    .option('--device <id>', 'bind the token to one device id')
    .option('--ttl <duration>', 'lifetime: seconds, or 30m, 1h, 7d', '1h')
    .option('--data-dir <dir>', 'data directory holding the development secret [LOWBAND_DATA_DIR]', process.env.LOWBAND_DATA_DIR ?? './data')
    .option('--jwt-secret <secret>', 'HS256 secret [LOWBAND_JWT_SECRET]', process.env.LOWBAND_JWT_SECRET)
    .action(async (userId: string, options: { device?: string, ttl: string, dataDir: string, jwtSecret?: string }) => {
      process.stdout.write(await mintToken({ userId, deviceId: options.device, ttl: options.ttl, jwtSecret: options.jwtSecret, dataDir: options.dataDir }) + '\n')
    })
}
