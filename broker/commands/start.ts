import type { Command } from 'commander'
import { loadConfig } from '../config.js'
import { createLogger } from '../logger.js'
import { START_OPTIONS } from '../options.js'
import { startBroker } from '../server.js'

export function registerStart (program: Command): void {
  const start = program.command('start').description('start the broker (embedded storage in --data-dir by default)')
  for (const option of START_OPTIONS) {
    start.option(option.flag, `${option.description} [${option.env}]${option.defaultText === undefined ? '' : ` (default ${option.defaultText})`}`)
  }
  start.action(async (flags: Record<string, unknown>) => {
    const config = loadConfig(flags)
    const log = createLogger(config.logLevel)
    const broker = await startBroker(config, log)
    let stopping = false
    const stop = (signal: string): void => {
      if (stopping) return
      stopping = true
      log.info({ signal }, 'stopping')
      broker.stop().then(() => process.exit(0), (error: unknown) => {
        log.error({ err: error }, 'unclean stop')
        process.exit(1)
      })
    }
    process.on('SIGTERM', () => stop('SIGTERM'))
    process.on('SIGINT', () => stop('SIGINT'))
  })
}
