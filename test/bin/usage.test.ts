import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Command } from 'commander'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createProgram } from '../../bin/program.js'
import { runCli } from '../helpers/process.js'

/** Every command a user can run, with its path (`lowband group add`). */
function leaves (command: Command, path = 'lowband'): Array<[string, Command]> {
  if (command.commands.length === 0) return [[path, command]]
  return command.commands.filter((c) => c.name() !== 'help').flatMap((c) => leaves(c, `${path} ${c.name()}`))
}

describe('the lowband command line, built (dist/bin/lowband.js)', () => {
  let dir: string
  let file: string
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'lowband-usage-'))
    file = join(dir, 'a-file')
    await writeFile(file, 'not a directory\n')
  })
  afterAll(async () => { await rm(dir, { recursive: true, force: true }) })

  // Each case is a process start: seconds apiece on a busy machine.
  it('answers bad input in every part with one line pointing at the help, exit 2', { timeout: 90_000 }, async () => {
    const cases: Array<[string[], string, string]> = [
      [['start', '--nope'], "unknown option '--nope'", 'lowband start'],
      [['start', '--prot', '1'], "unknown option '--prot' (Did you mean --port?)", 'lowband start'],
      [['frobnicate'], "unknown command 'frobnicate'", 'lowband'],
      [['send', '--nope'], "unknown option '--nope'", 'lowband send'],
      [['recv', '--count'], "option '--count <n>' argument missing", 'lowband recv'],
      [['group', 'frobnicate'], "unknown command 'frobnicate'", 'lowband group'],
      [['netem', 'frobnicate'], "unknown command 'frobnicate'", 'lowband netem'],
      [['netem', 'check', '--profile', 'nope'], "unknown netem profile 'nope'", 'lowband netem check'],
      [['start', '--data-dir', file, '--port', '0', '--ws-port', '0', '--http-port', '0'], 'invalid --data-dir (LOWBAND_DATA_DIR): must be a directory', 'lowband start'],
      [['send', '--data-dir', file, '--user', 'alice', '--to', 'bob', 'hi'], `invalid --data-dir ${JSON.stringify(file)}: a file, not a directory`, 'lowband send']
    ]
    const results = await Promise.all(cases.map(([args]) => runCli(args, { LOWBAND_DATA_DIR: dir })))
    results.forEach(({ code, stdout, stderr }, i) => {
      const [args, message, path] = cases[i]!
      expect({ args, code, stdout }).toEqual({ args, code: 2, stdout: '' })
      expect(stderr.split('\n'), args.join(' ')).toHaveLength(2)
      expect(stderr, args.join(' ')).toMatch(new RegExp(`^lowband: ${escape(message)}.* \\(see ${escape(path)} --help\\)\n$`))
    })
  })

  it('prints its version from package.json', { timeout: 30_000 }, async () => {
    const { version } = JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
    expect(await runCli(['--version'])).toEqual({ code: 0, stdout: `${version}\n`, stderr: '' })
  })
})

describe('help', () => {
  it('shows every default and environment variable one way, in every command', async () => {
    const program = await createProgram(['node', 'lowband'])
    const commands = leaves(program)
    expect(commands.map(([path]) => path)).toEqual(expect.arrayContaining(['lowband start', 'lowband send', 'lowband group add', 'lowband netem check']))
    const shown = { defaults: 0, variables: 0 }
    for (const [path, command] of commands) {
      // commander wraps help at the terminal's width: join the lines back into one text.
      const help = command.helpInformation().replace(/\n\s+/g, ' ')
      expect(help, path).not.toMatch(/\(default [^:]|\[LOWBAND_|default: "/)
      shown.defaults += help.match(/\(default: [^)]+\)|\(default: [^,]+, env: LOWBAND_\w+\)/g)?.length ?? 0
      shown.variables += help.match(/env: LOWBAND_\w+\)/g)?.length ?? 0
    }
    // The start options and the client's connection options have both.
    expect(shown.defaults).toBeGreaterThan(20)
    expect(shown.variables).toBeGreaterThan(20)
  })
})

function escape (text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}
