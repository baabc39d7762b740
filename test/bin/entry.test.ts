import { readFileSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Command } from 'commander'
import { describe, expect, it } from 'vitest'
import { PARTS, type PartName } from '../../bin/parts.js'

const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)))

/** Every project file reachable from `entry` through static relative imports. */
function importGraph (entry: string): Set<string> {
  const seen = new Set<string>()
  const visit = (file: string): void => {
    if (seen.has(file)) return
    seen.add(file)
    const source = readFileSync(file, 'utf8')
    for (const match of source.matchAll(/^\s*(?:import|export)\s[^'"]*?from\s+'(\.{1,2}\/[^']+)'/gm)) {
      visit(resolve(dirname(file), match[1]!.replace(/\.js$/, '.ts')))
    }
  }
  visit(resolve(ROOT, entry))
  return new Set([...seen].map((file) => relative(ROOT, file)))
}

describe('the lowband entry', () => {
  it('mounts exactly the commands each part declares', async () => {
    for (const name of Object.keys(PARTS) as PartName[]) {
      const program = new Command('lowband')
      await PARTS[name].load(program)
      expect(program.commands.map((c) => c.name()).sort()).toEqual([...PARTS[name].commands].sort())
    }
  })

  it('keeps the broker from loading the rig or the client, and the client from loading the broker', () => {
    const broker = [...importGraph('broker/commands/index.ts')]
    expect(broker.filter((f) => f.startsWith('netem/') || f.startsWith('clients/'))).toEqual([])
    const client = [...importGraph('clients/cli/index.ts')]
    expect(client.filter((f) => f.startsWith('broker/') || f.startsWith('netem/') || f.startsWith('hooks/') || f.startsWith('storage/'))).toEqual([])
    // The graph walk itself works: the broker reaches its hooks, the client its SDK.
    expect(broker).toContain(join('hooks', 'index.ts'))
    expect(client).toContain(join('clients', 'sdk', 'index.ts'))
  })
})
