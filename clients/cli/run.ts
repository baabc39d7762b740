import { describeError, EXIT } from './errors.js'
import type { CliIo } from './io.js'

/**
 * Wraps a command's work for commander: resolve → exit 0, throw → one line on stderr and its
 * exit code (1 for failures, 2 for bad input). The work's arguments are commander's.
 */
export function runCommand<A extends unknown[]> (io: CliIo, work: (...args: A) => Promise<void>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    let code: number = EXIT.ok
    try {
      await work(...args)
    } catch (error) {
      const described = describeError(error)
      await io.writeErr(described.line + '\n')
      code = described.code
    }
    io.exit(code)
  }
}
