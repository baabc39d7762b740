import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { rmSync } from 'node:fs'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { listOwnNamespaces } from '../../netem/namespaces.js'
import { run } from '../../netem/system.js'
import { eventually, processesMentioning, skipReason } from './support.js'

/*
 * A link must not outlive its process, however that process ends. Each case
 * runs a real Node process (netem/ compiled to JavaScript) that creates a link
 * and then ends in one way; afterwards nothing of that link may remain.
 */

const root = fileURLToPath(new URL('../..', import.meta.url))
// Inside netem/build (git-ignored) so the compiled code finds netem/linkemu the way dist/ does.
const outDir = join(root, 'netem', 'build', `ts-teardown-${process.pid}`)

function childScript(ending: string): string {
  const linkModule = pathToFileURL(join(outDir, 'netem', 'link.js')).href
  return `
    const { createLink } = await import(${JSON.stringify(linkModule)})
    const link = await createLink('3g-good')
    console.log(JSON.stringify({ serverNs: link.serverNs, clientNs: link.clientNs }))
    const ending = ${JSON.stringify(ending)}
    if (ending === 'exit') process.exit(3)
    if (ending === 'throw') setTimeout(() => { throw new Error('unexpected failure') }, 10)
    else setInterval(() => undefined, 1000)
  `
}

/** Processes whose command line mentions `text` (linkemu carries its namespace paths). */

describe.skipIf(skipReason !== null)(`link teardown${skipReason ? ` (skipped: ${skipReason})` : ''}`, () => {
  beforeAll(async () => {
    await run(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(root, 'netem', 'tsconfig.json'), '--outDir', outDir], 60_000)
  }, 60_000)

  afterAll(() => {
    rmSync(outDir, { recursive: true, force: true })
  })

  const endings: Array<[string, (child: ReturnType<typeof spawn>) => void, { code: number | null; signal: string | null }]> = [
    ['process.exit()', () => undefined, { code: 3, signal: null }],
    ['an uncaught exception', () => undefined, { code: 1, signal: null }],
    ['Ctrl-C (SIGINT)', (c) => c.kill('SIGINT'), { code: null, signal: 'SIGINT' }],
    ['SIGTERM', (c) => c.kill('SIGTERM'), { code: null, signal: 'SIGTERM' }],
    ['SIGKILL (linkemu cleans up)', (c) => c.kill('SIGKILL'), { code: null, signal: 'SIGKILL' }]
  ]

  it.each(endings)('removes everything when the process ends by %s', async (name, end, expected) => {
    const ending = name.startsWith('process.exit') ? 'exit' : name.startsWith('an uncaught') ? 'throw' : 'wait'
    const child = spawn(process.execPath, ['--input-type=module', '-e', childScript(ending)], {
      stdio: ['ignore', 'pipe', 'pipe']
    })
    const exited = once(child, 'exit')
    const [line] = (await once(createInterface({ input: child.stdout }), 'line')) as [string]
    const { serverNs, clientNs } = JSON.parse(line) as { serverNs: string; clientNs: string }
    expect(listOwnNamespaces()).toEqual(expect.arrayContaining([serverNs, clientNs]))

    end(child)
    const [code, signal] = (await exited) as [number | null, string | null]
    // Our handlers clean up and then let the ending take its normal course.
    expect({ code, signal }).toEqual(expected)
    expect(await eventually(() => !listOwnNamespaces().some((n) => n === serverNs || n === clientNs))).toBe(true)
    expect(await eventually(() => processesMentioning(serverNs).length === 0)).toBe(true)
  }, 20_000)
})
