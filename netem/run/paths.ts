import { existsSync } from 'node:fs'
import { dirname, join, sep } from 'node:path'
import { fileURLToPath } from 'node:url'
import { NetemError } from '../errors.js'

/**
 * The runner starts the broker and the phone process as plain `node` programs
 * inside the namespaces, so it needs their compiled files. It runs itself
 * either from dist/netem/run (built) or netem/run (vitest, from source); both
 * find the same dist/.
 */
function distDir(): string {
  const here = dirname(fileURLToPath(import.meta.url))
  const marker = `${sep}dist${sep}netem${sep}`
  const at = `${here}${sep}`.lastIndexOf(marker)
  if (at >= 0) return here.slice(0, at + `${sep}dist`.length)
  return join(here, '..', '..', 'dist')
}

function built(relative: string): string {
  const path = join(distDir(), relative)
  if (!existsSync(path)) throw new NetemError(`${path} is missing: build the project first (npm run build)`)
  return path
}

/** dist/bin/lowband.js: `lowband start`. */
export function brokerCli(): string {
  return built(join('bin', 'lowband.js'))
}

/** dist/netem/phones/main.js: the phone process. */
export function phonesMain(): string {
  return built(join('netem', 'phones', 'main.js'))
}

/** scripts/s3-server.mjs: the local S3-compatible server (s3rver, a devDependency) of the media scenario. */
export function s3Server(): string {
  const path = join(distDir(), '..', 'scripts', 's3-server.mjs')
  if (!existsSync(path)) throw new NetemError(`${path} is missing: the media scenario runs from a lowband checkout`)
  return path
}
