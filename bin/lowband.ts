#!/usr/bin/env node
import { createProgram } from './program.js'
import { USAGE_EXIT_CODE } from './usage.js'

/** The `lowband` command; parts.ts says what it mounts. */
async function main (argv: string[]): Promise<void> {
  await (await createProgram(argv)).parseAsync(argv)
}

main(process.argv).catch((error: unknown) => {
  // A ConfigError (broker) is the operator's input: one line, exit 2. Matched by name so this
  // entry imports no part's code.
  const message = error instanceof Error ? error.message : String(error)
  process.stderr.write(`lowband: ${message}\n`)
  process.exit(error instanceof Error && error.name === 'ConfigError' ? USAGE_EXIT_CODE : 1)
})
