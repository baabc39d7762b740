import type { Command } from 'commander'
import { oneLineUsageErrors } from '../../bin/usage.js'
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
  for (const register of [registerSend, registerRecv, registerChat, registerGroup, registerPush, registerToken]) {
    // Usage errors commander finds (unknown option, missing value) like the commands' own: one
    // line pointing at --help, exit 2 — through `io`, so in-process runs see them too.
    oneLineUsageErrors(register(program, io), {
      writeOut: (text) => { void io.writeOut(text) },
      writeErr: (text) => { void io.writeErr(text) },
      exit: (code) => io.exit(code)
    })
  }
}
