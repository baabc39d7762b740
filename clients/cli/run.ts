import type { Command } from 'commander'
import { usageLine } from '../../bin/usage.js'
import { describeError, EXIT, UsageError } from './errors.js'
import type { CliIo } from './io.js'

/**
 * Wraps a command's work for commander: resolve → exit 0, throw → one line on stderr and its
 * exit code (1 for failures, 2 for bad input, which also points at the command's --help). The
 * work's arguments are commander's.
 */
export function runCommand<A extends unknown[]> (io: CliIo, command: Command, work: (...args: A) => Promise<void>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    let code: number = EXIT.ok
    try {
      await work(...args)
    } catch (error) {
      const described = describeError(error)
      await io.writeErr((error instanceof UsageError ? usageLine(command, error.message) : described.line) + '\n')
      code = described.code
    }
    io.exit(code)
  }
}
