import type { Command } from 'commander'
import { registerChat } from './chat.js'
import { registerGroup } from './group.js'
import { processIo, type CliIo } from './io.js'
import { registerPush } from './push.js'
import { registerRecv } from './recv.js'
import { registerSend } from './send.js'
import { registerToken } from './token.js'

export type { CliIo } from './io.js'

/**
 * Adds the chat client commands (`send`, `recv`, `chat`, `group …`, `push …`, `token`) to the `lowband` program.
 * `io` is for tests, which run the commands in-process; the default is the real process.
 */
export function registerClientCommands (program: Command, io: CliIo = processIo()): void {
  for (const register of [registerSend, registerRecv, registerChat, registerGroup, registerPush, registerToken]) configure(register(program, io), io)
}

/** Output through `io`, and usage errors as exit 2, for a command and its subcommands. */
function configure (command: Command, io: CliIo): void {
  command
    .configureOutput({ writeOut: (text) => { void io.writeOut(text) }, writeErr: (text) => { void io.writeErr(text) } })
    // One line per error, like the commands' own checks (the program may ask for help after errors).
    .showHelpAfterError(false)
    // A usage error commander finds (unknown option, missing value) exits 2 like the commands'
    // own checks; --help exits 0. The throw only matters where io.exit returns (tests).
    .exitOverride((error) => {
      io.exit(error.exitCode === 0 ? 0 : 2)
      throw error
    })
  for (const subcommand of command.commands) configure(subcommand, io)
}
