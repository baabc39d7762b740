import { availableParallelism, release } from 'node:os'
import type { LinkMode } from '../backends/types.js'
import { NetemError, NetemUsageError } from '../errors.js'
import { assertCanEmulate } from '../preflight.js'
import { getProfile, listProfiles, loadProfileFile, PROFILE_IDS, type Profile } from '../profiles/index.js'
import { runsTable } from '../report/markdown.js'
import { mediaTable } from '../report/media.js'
import { writeReport } from '../report/write.js'
import { runMatrix } from './matrix.js'
import { isScenarioName, SCENARIOS, type ScenarioName } from './types.js'

export interface RunFlags {
  profile?: string
  profileFile?: string
  scenario?: string
  matrix?: boolean
  out?: string
  json?: boolean
  seed: number
  mode: 'auto' | LinkMode
}

function list(value: string): string[] {
  return value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
}

async function chooseProfiles(flags: RunFlags): Promise<Profile[]> {
  if (flags.profileFile) {
    try {
      return [await loadProfileFile(flags.profileFile)]
    } catch (err) {
      throw new NetemError((err as Error).message)
    }
  }
  if (flags.profile) {
    return list(flags.profile).map((id) => {
      try {
        return getProfile(id)
      } catch (err) {
        throw new NetemUsageError((err as Error).message)
      }
    })
  }
  if (flags.matrix) return [...listProfiles()]
  throw new NetemUsageError(`--profile is required (one of ${PROFILE_IDS.join(', ')}), or --matrix for all of them`)
}

function chooseScenarios(flags: RunFlags): ScenarioName[] {
  if (!flags.scenario) return [...SCENARIOS]
  return list(flags.scenario).map((name) => {
    if (!isScenarioName(name)) throw new NetemUsageError(`unknown scenario '${name}' (known: ${SCENARIOS.join(', ')})`)
    return name
  })
}

/** A table after a blank line, or nothing. */
function spaced(table: string[]): string[] {
  return table.length === 0 ? [] : ['', ...table]
}

/** How the report names the command that made it. */
function invocation(): string {
  if (process.env.npm_lifecycle_event === 'netem') return 'npm run netem'
  const at = process.argv.indexOf('netem')
  return `lowband ${process.argv.slice(at >= 0 ? at : 2).join(' ')}`
}

/**
 * `lowband netem run`: scenarios on profiles, a table on stdout (or JSON),
 * and with --out a Markdown report with SVG plots. Exits 1 unless every run
 * delivered every message once and in order.
 */
export async function runCommand(flags: RunFlags): Promise<number> {
  const profiles = await chooseProfiles(flags)
  const scenarios = chooseScenarios(flags)
  await assertCanEmulate()
  const startedAt = new Date()
  const records = await runMatrix(profiles, scenarios, { seed: flags.seed, mode: flags.mode })
  const durationMs = Date.now() - startedAt.getTime()
  if (flags.json) process.stdout.write(`${JSON.stringify(records, null, 2)}\n`)
  else process.stdout.write(`${[...runsTable(records), ...spaced(mediaTable(records))].join('\n')}\n`)
  if (flags.out) {
    const modes = [...new Set(records.map((r) => r.mode).filter(Boolean))].join('/') || 'unknown'
    const machine = `Linux ${release()}, ${availableParallelism()} cores, Node ${process.versions.node}, link mode ${modes}`
    const files = await writeReport(flags.out, records, { command: invocation(), startedAt, durationMs, seed: flags.seed, machine })
    process.stderr.write(`lowband netem: wrote ${files.join(', ')}\n`)
  }
  return records.every((r) => r.metrics?.ok === true) ? 0 : 1
}
