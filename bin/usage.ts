import type { Command, Option } from 'commander'

/**
 * The command line's conventions, the same in every part (broker, client, netem): bad input is
 * one line that ends by pointing at the command's help, with exit code 2; help shows every
 * option's default and environment variable the same way, `(default: 1883, env: LOWBAND_PORT)`.
 */

export const USAGE_EXIT_CODE = 2

/** `lowband netem check` for the `check` command. */
export function commandPath (command: Command): string {
  return command.parent === null ? command.name() : `${commandPath(command.parent)} ${command.name()}`
}

/** `unknown option '--x' (see lowband start --help)`: a usage error's message, pointing at the help. */
export function pointToHelp (command: Command, message: string): string {
  return `${message} (see ${commandPath(command)} --help)`
}

/** The one line printed for bad input to `command`. */
export function usageLine (command: Command, message: string): string {
  return `lowband: ${pointToHelp(command, message)}`
}

export interface UsageOutput {
  /** Help and --version. */
  writeOut (text: string): void
  writeErr (text: string): void
  /** Ends the process (or, in tests, records the code and returns). */
  exit (code: number): void
}

const processOutput: UsageOutput = {
  writeOut: (text) => { process.stdout.write(text) },
  writeErr: (text) => { process.stderr.write(text) },
  exit: (code) => process.exit(code)
}

/**
 * commander's own usage errors (unknown option or command, missing or invalid argument) as one
 * line plus the pointer to --help, exit 2; --help and --version exit 0. For `command` and every
 * subcommand it has now.
 */
export function oneLineUsageErrors (command: Command, output: UsageOutput = processOutput): void {
  command
    .showHelpAfterError(false)
    .configureOutput({
      writeOut: (text) => output.writeOut(text),
      writeErr: (text) => output.writeErr(text),
      // commander puts its suggestion ("(Did you mean --port?)") on a line of its own: one line here.
      outputError: (text, write) => write(`${usageLine(command, text.trim().replace(/^error: /, '').replace(/\s*\n\s*/g, ' '))}\n`)
    })
    // The throw matters only where exit returns (tests): it stops commander's parse.
    .exitOverride((error) => {
      output.exit(error.exitCode === 0 ? 0 : USAGE_EXIT_CODE)
      throw error
    })
  for (const subcommand of command.commands) oneLineUsageErrors(subcommand, output)
}

/**
 * Help that shows an option's default and environment variable one way everywhere. The default
 * is shown as written (no JSON quotes), also where only its description is known (a default
 * computed at run time, such as the CLI's own device id).
 */
export function describeOption (option: Option): string {
  const extra: string[] = []
  // A --no-x flag's implied `true` and a plain flag's `false` say nothing a user needs.
  const implied = option.negate || typeof option.defaultValue === 'boolean'
  const shown = option.defaultValueDescription ?? (option.defaultValue === undefined || implied ? undefined : String(option.defaultValue))
  if (shown !== undefined) extra.push(`default: ${shown}`)
  if (option.envVar !== undefined) extra.push(`env: ${option.envVar}`)
  if (option.argChoices !== undefined) extra.push(`one of: ${option.argChoices.join(', ')}`)
  return extra.length === 0 ? option.description : `${option.description} (${extra.join(', ')})`
}

/** An option whose default the command applies itself (after the environment, say), shown in help like any other. */
export function showDefault (option: Option, text: string): Option {
  option.defaultValueDescription = text
  return option
}
