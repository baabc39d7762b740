import { LowbandError } from '../../protocol/errors.js'

/** Bad input on the command line: one line on stderr, exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError'
}

export const EXIT = { ok: 0, failed: 1, usage: 2 } as const

/** The one line a command prints for an error on stderr, and its exit code. */
export function describeError (error: unknown): { line: string, code: number } {
  if (error instanceof UsageError) return { line: `lowband: ${error.message}`, code: EXIT.usage }
  if (error instanceof LowbandError) return { line: `lowband: ${error.errorName} (${error.code}): ${error.message}`, code: EXIT.failed }
  return { line: `lowband: ${error instanceof Error ? error.message : String(error)}`, code: EXIT.failed }
}
