import { InvalidArgumentError, Option, type Command } from 'commander'
import type { LinkMode } from './backends/types.js'
import { calibrate, type CalibrationResult } from './check/calibrate.js'
import { formatCalibration, RTT_NOTE } from './check/report.js'
import { showDefault, usageLine } from '../bin/usage.js'
import { NetemError, NetemUsageError } from './errors.js'
import { execUnderProfile } from './exec.js'
import { assertCanEmulate } from './preflight.js'
import { getProfile, listProfiles, loadProfileFile, PROFILE_IDS, type Profile } from './profiles/index.js'
import { runCommand, type RunFlags } from './run/command.js'
import { SCENARIOS } from './run/types.js'

/*
 * `lowband netem …`: emulated mobile links for testing. The broker's CLI
 * mounts these commands with registerNetemCommands(program).
 */

const logLine = (line: string): void => {
  process.stderr.write(`${line}\n`)
}

function parseSeed(value: string): number {
  const seed = Number(value)
  if (!Number.isInteger(seed) || seed < 0 || seed >= 2 ** 32) throw new InvalidArgumentError('must be an integer from 0 to 4294967295')
  return seed
}

function parseMode(value: string): 'auto' | LinkMode {
  if (value === 'auto' || value === 'netem' || value === 'linkemu') return value
  throw new InvalidArgumentError('must be auto, netem or linkemu')
}

function parseMs(value: string): number {
  const ms = Number(value)
  if (!Number.isFinite(ms) || ms < 0) throw new InvalidArgumentError('must be a number of milliseconds')
  return ms
}

async function resolveProfile(id: string | undefined, file: string | undefined): Promise<Profile> {
  if (file) return loadProfileFile(file)
  if (!id) throw new NetemUsageError(`--profile is required (one of ${PROFILE_IDS.join(', ')})`)
  try {
    return getProfile(id)
  } catch (err) {
    throw new NetemUsageError((err as Error).message)
  }
}

/**
 * Runs a command body; a NetemError becomes one line on stderr and exit status 1 (bad input: 2,
 * pointing at the command's --help), anything else keeps its stack.
 */
async function guarded(command: Command, body: () => Promise<number>): Promise<void> {
  try {
    process.exitCode = await body()
  } catch (err) {
    if (!(err instanceof NetemError)) throw err
    const usage = err instanceof NetemUsageError
    logLine(usage ? usageLine(command, err.message) : `lowband netem: ${err.message}`)
    process.exitCode = usage ? 2 : 1
  }
}

interface CheckFlags {
  profile?: string
  profileFile?: string
  all?: boolean
  json?: boolean
  seed: number
  mode: 'auto' | LinkMode
}

async function runCheck(flags: CheckFlags): Promise<number> {
  // Bad input is reported before anything about the machine.
  const profiles = flags.all ? listProfiles() : [await resolveProfile(flags.profile, flags.profileFile)]
  await assertCanEmulate()
  const results: CalibrationResult[] = []
  for (const profile of profiles) {
    if (!flags.json) logLine(`lowband netem: checking ${profile.id}…`)
    const result = await calibrate(profile, { seed: flags.seed, mode: flags.mode, log: flags.json ? undefined : logLine })
    results.push(result)
    if (!flags.json) process.stdout.write(`${formatCalibration(result)}\n\n`)
  }
  if (flags.json) process.stdout.write(`${JSON.stringify(flags.all ? results : results[0], null, 2)}\n`)
  else process.stdout.write(`${RTT_NOTE}\n`)
  return results.every((r) => r.ok) ? 0 : 1
}

interface ExecFlags {
  profile?: string
  profileFile?: string
  server?: string
  serverWait: number
  seed?: number
  mode: 'auto' | LinkMode
  outages: boolean
  counters?: string
}

function listCommand(json: boolean): number {
  const profiles = listProfiles()
  if (json) {
    process.stdout.write(`${JSON.stringify(profiles, null, 2)}\n`)
    return 0
  }
  for (const p of profiles) {
    const d = p.down
    const u = p.up
    const outages = p.outages ? `, down ${p.outages.downS.min}–${p.outages.downS.max} s every ${p.outages.upS.min}–${p.outages.upS.max} s up` : ''
    process.stdout.write(
      `${p.id.padEnd(11)} ${d.rateKbit}/${u.rateKbit} kbit/s, ${d.delayMs}/${u.delayMs} ms, loss ${d.lossPct}/${u.lossPct} %${outages}\n`
    )
  }
  return 0
}

export function registerNetemCommands(program: Command): void {
  const netem = program
    .command('netem')
    .description('emulated 2G/EDGE/3G links between private network namespaces (needs root)')

  netem
    .command('profiles')
    .description('list the link profiles (down/up)')
    .option('--json', 'print the full profiles, with sources, as JSON')
    .action((flags: { json?: boolean }, command: Command) => guarded(command, async () => listCommand(flags.json ?? false)))

  netem
    .command('check')
    .description('measure an emulated link (RTT, rate and loss each way) and compare it with its profile')
    .option('--profile <id>', `profile to check: ${PROFILE_IDS.join(', ')}`)
    .option('--profile-file <path>', 'check a profile from a JSON file instead')
    .option('--all', 'check every profile')
    .option('--json', 'print the results as JSON')
    .option('--seed <n>', 'seed for loss and outages (the same seed gives the same losses)', parseSeed, 1)
    .option('--mode <mode>', 'auto, netem or linkemu', parseMode, 'auto')
    .action((flags: CheckFlags, command: Command) => guarded(command, () => runCheck(flags)))

  netem
    .command('exec')
    .description('run a command on the phone side of an emulated link; exits with its status')
    .argument('<command...>', 'the command and its arguments (put -- before it)')
    .option('--profile <id>', `link profile: ${PROFILE_IDS.join(', ')}`)
    .option('--profile-file <path>', 'use a profile from a JSON file')
    .option('--server <shell-command>', 'run this on the server side first (e.g. the broker)')
    .option('--server-wait <ms>', 'time the server command gets before the client starts', parseMs, 1000)
    .option('--seed <n>', 'seed for loss, jitter and outages', parseSeed)
    .option('--mode <mode>', 'auto, netem or linkemu', parseMode, 'auto')
    .option('--no-outages', "keep the link up even if the profile schedules outages")
    .option('--counters <file>', 'write the final counters and outage log to this JSON file')
    .action((argv: string[], flags: ExecFlags, command: Command) =>
      guarded(command, async () =>
        execUnderProfile({
          profile: await resolveProfile(flags.profile, flags.profileFile),
          clientArgv: argv,
          serverCommand: flags.server,
          serverWaitMs: flags.serverWait,
          seed: flags.seed,
          mode: flags.mode,
          outages: flags.outages,
          countersFile: flags.counters,
          log: logLine
        })
      )
    )

  netem
    .command('run')
    .description('run chat scenarios (the broker behind an emulated link, SDK phones in front) and measure them')
    .option('--profile <ids>', `link profile(s), comma-separated: ${PROFILE_IDS.join(', ')}`)
    .option('--profile-file <path>', 'use a profile from a JSON file')
    .addOption(showDefault(new Option('--scenario <names>', `scenario(s), comma-separated: ${SCENARIOS.join(', ')}`), 'all'))
    .option('--matrix', 'every profile (unless --profile narrows it) × every scenario')
    .option('--out <dir>', 'write report.md, results.json and SVG plots here')
    .option('--json', 'print the runs as JSON instead of a table')
    .option('--seed <n>', 'seed for loss and outages (the same seed replays the same link)', parseSeed, 1)
    .option('--mode <mode>', 'auto, netem or linkemu', parseMode, 'auto')
    .action((flags: RunFlags, command: Command) => guarded(command, () => runCommand(flags)))
}
