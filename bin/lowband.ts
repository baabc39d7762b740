#!/usr/bin/env node
import { Command } from 'commander'
import { PARTS, type PartName } from './parts.js'

/** The part that owns the command named first on the command line; undefined loads every part. */
function partOf (argv: readonly string[]): PartName | undefined {
  const name = argv.slice(2).find((arg) => !arg.startsWith('-'))
  return (Object.keys(PARTS) as Array<PartName>).find((part) => (PARTS[part].commands as readonly string[]).includes(name ?? ''))
}

/** The `lowband` command; parts.ts says what it mounts. */
async function main (argv: string[]): Promise<void> {
  const program = new Command('lowband')
    .description('an MQTT chat broker for weak mobile links')
    .showHelpAfterError()
  const part = partOf(argv)
  for (const name of part === undefined ? Object.keys(PARTS) as Array<PartName> : [part]) await PARTS[name].load(program)
  await program.parseAsync(argv)
}

main(process.argv).catch((error: unknown) => {
  // A ConfigError (broker) is the operator's input: one line, exit 2. Matched by name so this
  // entry imports no part's code.
  const message = error instanceof Error ? error.message : String(error)
  process.stderr.write(`lowband: ${message}\n`)
  process.exit(error instanceof Error && error.name === 'ConfigError' ? 2 : 1)
})
