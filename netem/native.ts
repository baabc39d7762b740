import { createHash } from 'node:crypto'
import { existsSync } from 'node:fs'
import { mkdir, readFile, readdir, rename, rm } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { NetemError } from './errors.js'
import { run } from './system.js'

/** The C helpers, by binary name, with their source under netem/. */
const SOURCES = {
  linkemu: 'linkemu/linkemu.c',
  lbprobe: 'probe/lbprobe.c'
} as const

export type NativeTool = keyof typeof SOURCES

/**
 * The netem/ source folder. This module runs both from source (vitest) and
 * from dist/netem after a build, so look upward for the folder that has the C files.
 */
function netemSourceDir(): string {
  const here = dirname(fileURLToPath(import.meta.url))
  for (let dir = here; ; dir = dirname(dir)) {
    for (const candidate of [dir, join(dir, 'netem')]) {
      if (existsSync(join(candidate, SOURCES.linkemu))) return candidate
    }
    if (dirname(dir) === dir) throw new NetemError(`cannot find netem/${SOURCES.linkemu} above ${here}`)
  }
}

const built = new Map<NativeTool, Promise<string>>()

/**
 * Path of a compiled helper, compiling it on first use with the system C
 * compiler into netem/build/. The binary name carries a hash of its sources, so
 * an edited source is rebuilt and concurrent runs never half-write a binary
 * another one is executing (each compiles to a temporary name, then renames).
 */
export function nativeTool(tool: NativeTool): Promise<string> {
  let pending = built.get(tool)
  if (!pending) {
    pending = compile(tool)
    built.set(tool, pending)
    pending.catch(() => built.delete(tool))
  }
  return pending
}

async function compile(tool: NativeTool): Promise<string> {
  const netemDir = netemSourceDir()
  const source = join(netemDir, SOURCES[tool])
  // Hash the tool's whole folder: its headers change the binary too.
  const sourceDir = dirname(source)
  const digest = createHash('sha256')
  for (const name of (await readdir(sourceDir)).sort()) {
    if (/\.[ch]$/.test(name)) digest.update(name).update(await readFile(join(sourceDir, name)))
  }
  const hash = digest.digest('hex').slice(0, 12)
  const buildDir = join(netemDir, 'build')
  const binary = join(buildDir, `${tool}-${hash}`)
  if (existsSync(binary)) return binary
  await mkdir(buildDir, { recursive: true })
  const temporary = `${binary}.tmp-${process.pid}`
  try {
    await run('cc', ['-O2', '-Wall', '-Wextra', '-std=gnu11', '-o', temporary, source], 60_000)
  } catch (err) {
    throw new NetemError(`cannot build ${tool} (is a C compiler installed? apt-get install gcc): ${(err as Error).message}`)
  }
  await rename(temporary, binary)
  await pruneOldBuilds(buildDir, tool, binary)
  return binary
}

async function pruneOldBuilds(buildDir: string, tool: NativeTool, keep: string): Promise<void> {
  for (const name of await readdir(buildDir)) {
    const path = join(buildDir, name)
    if (path !== keep && name.startsWith(`${tool}-`) && !name.includes('.tmp-')) await rm(path, { force: true })
  }
}
