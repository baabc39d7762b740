#!/usr/bin/env node
import { Command } from 'commander'
import { ConfigError } from './config-error.js'
import { registerStart } from './commands/start.js'
import { registerToken } from './commands/token.js'
import { registerClientCommands } from '../clients/cli/index.js'
import { registerNetemCommands } from '../netem/cli.js'

/** The `lowband` command: the broker, tokens, the chat client and the network-emulation suite. */
const program = new Command('lowband')
  .description('an MQTT chat broker for weak mobile links')
  .showHelpAfterError()
registerStart(program)
registerToken(program)
registerClientCommands(program)
registerNetemCommands(program)

program.parseAsync(process.argv).catch((error: unknown) => {
  if (error instanceof ConfigError) {
    process.stderr.write(`lowband: ${error.message}\n`)
    process.exit(2)
  }
  process.stderr.write(`lowband: ${error instanceof Error ? error.message : String(error)}\n`)
  process.exit(1)
})
