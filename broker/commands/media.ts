import type { Command } from 'commander'
import { pino } from 'pino'
import { loadConfig } from '../config.js'
import { ConfigError } from '../config-error.js'
import { openMediaStore } from '../media.js'
import { START_OPTIONS, startOption } from '../options.js'

/** Objects younger than this are left alone: an upload whose message is still on its way, hours. */
const DEFAULT_MIN_AGE_HOURS = 24

/** `lowband media sweep`: removes uploaded objects that no message referenced within 24 h. */
export function registerMedia (program: Command): void {
  const media = program.command('media').description('object storage for media (photos, voice notes, files)')
  const sweep = media.command('sweep')
    .description('remove media objects no message references, older than --min-age (an S3 lifecycle rule can do the same: see README)')
    .option('--min-age <hours>', 'leave objects younger than this', String(DEFAULT_MIN_AGE_HOURS))
  for (const spec of START_OPTIONS.filter((o) => o.key.startsWith('s3'))) sweep.addOption(startOption(spec))
  sweep.action(async (flags: Record<string, unknown> & { minAge: string }) => {
    const hours = Number(flags.minAge)
    if (flags.minAge.trim() === '' || !Number.isFinite(hours) || hours < 0) throw new ConfigError(`invalid --min-age ${JSON.stringify(flags.minAge)}: a number of hours`)
    const config = loadConfig(flags)
    // Outages surface as the command's error; the store's outage log has nothing to add here.
    const store = await openMediaStore(config, pino({ level: 'silent' }))
    if (store === undefined) throw new ConfigError('media sweep needs --s3-bucket (LOWBAND_S3_BUCKET)')
    const { examined, removed } = await store.sweep(hours * 3600 * 1000)
    process.stdout.write(`${removed} of ${examined} objects older than ${hours} h were referenced by no message and removed\n`)
  })
}
