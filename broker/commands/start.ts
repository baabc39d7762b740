import type { Command } from 'commander'
import { pointToHelp } from '../../bin/usage.js'
import { loadConfig, type Config } from '../config.js'
import { ConfigError } from '../config-error.js'
import { createLogger } from '../logger.js'
import { START_OPTIONS, startOption } from '../options.js'
import { startBroker } from '../server.js'

export function registerStart (program: Command): void {
  const start = program.command('start').description('start the broker (embedded storage in --data-dir by default)')
  // The default and the variable are shown in help; config.ts applies both (flags over
  // environment over defaults), so only what was typed on the command line is passed on.
  for (const spec of START_OPTIONS) start.addOption(startOption(spec))
  start.action(async (_flags: Record<string, unknown>, command: Command) => {
    const config = configFrom(command)
    const log = createLogger(config.logLevel)
    const started = startBroker(config, log)
    let stopping = false
    const stop = (signal: string): void => {
      if (stopping) return
      stopping = true
      log.info({ signal }, 'stopping')
      started.then((broker) => broker.stop()).then(() => process.exit(0), (error: unknown) => {
        log.error({ err: error }, 'unclean stop')
        process.exit(1)
      })
    }
    // Before "lowband ready" is logged: a supervisor may signal as soon as it reads that line (or
    // while the broker starts, when the stop waits for the start to finish).
    process.on('SIGTERM', () => stop('SIGTERM'))
    process.on('SIGINT', () => stop('SIGINT'))
    await started
  })
}

/** The configuration from what was typed; a bad value is bad input like an unknown option, pointing at --help. */
function configFrom (command: Command): Config {
  const typed = Object.fromEntries(Object.entries(command.opts()).filter(([key]) => command.getOptionValueSource(key) === 'cli'))
  try {
    return loadConfig(typed)
  } catch (error) {
    if (error instanceof ConfigError) throw new ConfigError(pointToHelp(command, error.message), { cause: error })
    throw error
  }
}
