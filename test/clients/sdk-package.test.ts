import { execFile } from 'node:child_process'
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises'
import { builtinModules } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build, type Plugin } from 'esbuild'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const SDK_BUILT = join(ROOT, 'dist', 'clients', 'sdk', 'index.js')
const NODE_BUILTINS = new Set(builtinModules)

/** Records every import of a Node built-in (`node:fs`, `fs`, `buffer`, …) and who made it. */
function recordNodeImports (seen: string[]): Plugin {
  return {
    name: 'record-node-imports',
    setup (esbuild) {
      esbuild.onResolve({ filter: /.*/ }, (args) => {
        if (args.path.startsWith('node:') || NODE_BUILTINS.has(args.path.split('/')[0]!)) seen.push(`${args.path} (imported by ${args.importer})`)
        return undefined
      })
    }
  }
}

function run (command: string, args: string[], cwd: string): Promise<{ code: number, output: string }> {
  return new Promise((resolve) => execFile(command, args, { cwd }, (error, stdout, stderr) => {
    resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : 1, output: stdout + stderr })
  }))
}

/** The SDK as a user's project gets it: `lowband` in node_modules, imported by its package name. */
describe('the SDK as a package, lowband/sdk', () => {
  let project: string
  beforeAll(async () => {
    project = await mkdtemp(join(tmpdir(), 'lowband-sdk-user-'))
    await mkdir(join(project, 'node_modules'))
    await symlink(ROOT, join(project, 'node_modules', 'lowband'), 'dir')
  })
  afterAll(async () => { await rm(project, { recursive: true, force: true }) })

  it.each([
    ['a browser', { platform: 'browser' as const }],
    ['React Native', { platform: 'neutral' as const, conditions: ['react-native', 'import'], mainFields: ['react-native', 'browser', 'module', 'main'] }]
  ])('bundles for %s with no Node built-in on its path', async (_target, options) => {
    const seen: string[] = []
    const result = await build({
      stdin: { contents: "export { LowbandClient, LowbandError } from 'lowband/sdk'", resolveDir: project },
      bundle: true, format: 'esm', write: false, logLevel: 'silent', metafile: true, plugins: [recordNodeImports(seen)], ...options
    })
    expect(seen).toEqual([])
    // Through the package's exports (the built SDK), and mqtt.js's own build for that platform.
    const inputs = Object.keys(result.metafile.inputs)
    expect(inputs.some((file) => file.endsWith('dist/clients/sdk/index.js'))).toBe(true)
    expect(inputs.some((file) => file.endsWith('mqtt/dist/mqtt.esm.js'))).toBe(true)
  })

  it('uses no Node global (Buffer, process, …) in its own code', async () => {
    const globals = ['Buffer', 'process', 'global', 'setImmediate', '__dirname', '__filename', 'require']
    // Its own modules only (dependencies left out): a free use of a Node global becomes a marker.
    const result = await build({
      entryPoints: [SDK_BUILT], bundle: true, packages: 'external', platform: 'browser', format: 'esm', write: false, logLevel: 'silent',
      define: Object.fromEntries(globals.map((name) => [name, `NODE_GLOBAL_${name}`]))
    })
    expect(result.outputFiles[0]!.text.match(/.{0,60}NODE_GLOBAL_\w+/g) ?? []).toEqual([])
  })

  it('imports in Node by its package name, with types for TypeScript', async () => {
    await writeFile(join(project, 'package.json'), JSON.stringify({ type: 'module' }))
    await writeFile(join(project, 'node.mjs'), "const { LowbandClient, LowbandError } = await import('lowband/sdk'); console.log(typeof LowbandClient, typeof LowbandError)")
    expect(await run(process.execPath, ['node.mjs'], project)).toEqual({ code: 0, output: 'function function\n' })
    // The Node-only TCP Fast Open transport has an entry of its own, out of the browser's path.
    await writeFile(join(project, 'fast-open.mjs'), "const { fastOpenTransportFactory } = await import('lowband/sdk/fast-open'); console.log(typeof fastOpenTransportFactory())")
    expect(await run(process.execPath, ['fast-open.mjs'], project)).toEqual({ code: 0, output: 'function\n' })

    await writeFile(join(project, 'app.ts'), [
      "import { LowbandClient, LowbandError, KIND, type ChatMessage, type SendResult, type ClientMsgId, type GroupInfo, type Status } from 'lowband/sdk'",
      "import { fastOpenTransportFactory } from 'lowband/sdk/fast-open'",
      "export const overFastOpen = new LowbandClient({ url: 'mqtt://chat.example', userId: 'alice', deviceId: 'cli', token: 'jwt', transportFactory: fastOpenTransportFactory() })",
      "const client = new LowbandClient({ url: 'wss://chat.example/mqtt', userId: 'alice', deviceId: 'web', token: async () => 'jwt' })",
      'client.onMessage((message: ChatMessage) => { const id: ClientMsgId | undefined = message.clientMsgId; console.log(message.text, id) })',
      'client.onStatus((status: Status) => console.log(status.type))',
      "export const sent: Promise<SendResult> = client.send('bob', 'hi')",
      "export const group: Promise<GroupInfo> = client.createGroup('Hikers', ['bob'])",
      'export const kind: number = KIND.text',
      'export const isCoded = (error: unknown): boolean => error instanceof LowbandError',
      // A wrong type must be an error: the declarations are really checked.
      '// @ts-expect-error send takes text or bytes, not a number',
      "client.send('bob', 42)"
    ].join('\n'))
    await writeFile(join(project, 'tsconfig.json'), JSON.stringify({
      compilerOptions: { strict: true, noEmit: true, module: 'nodenext', moduleResolution: 'nodenext', target: 'es2022', lib: ['es2022', 'dom'], types: [], skipLibCheck: true },
      files: ['app.ts']
    }))
    const tsc = await run(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', project], project)
    expect(tsc).toEqual({ code: 0, output: '' })
  }, 60_000)
})
