import { readFileSync } from 'node:fs'
import { Command } from 'commander'
import { PARTS, type PartName } from './parts.js'
import { describeOption, oneLineUsageErrors } from './usage.js'

/** The part that owns the command named first on the command line; undefined loads every part. */
function partOf (argv: readonly string[]): PartName | undefined {
  const name = argv.slice(2).find((arg) => !arg.startsWith('-'))
  return (Object.keys(PARTS) as Array<PartName>).find((part) => (PARTS[part].commands as readonly string[]).includes(name ?? ''))
}

/** The package's version, from the package.json above dist/ (or above bin/, run from source). */
function packageVersion (): string {
  for (const candidate of ['../../package.json', '../package.json']) {
    try {
      const manifest = JSON.parse(readFileSync(new URL(candidate, import.meta.url), 'utf8')) as { name?: string, version?: string }
      if (manifest.name === 'lowband' && manifest.version !== undefined) return manifest.version
    } catch {
      // Not there: the next candidate.
    }
  }
  return 'unknown'
}

/** The `lowband` program for `argv`, with the part its command belongs to mounted (all for help). */
export async function createProgram (argv: readonly string[]): Promise<Command> {
  const program = new Command('lowband')
    .description('an MQTT chat broker for weak mobile links')
    .version(packageVersion(), '-v, --version', 'print the version')
    // Before the parts add their commands: subcommands inherit the help settings when created.
    .configureHelp({ optionDescription: describeOption })
  const part = partOf(argv)
  for (const name of part === undefined ? Object.keys(PARTS) as Array<PartName> : [part]) await PARTS[name].load(program)
  oneLineUsageErrors(program)
  return program
}
