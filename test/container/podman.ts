import { execFile, spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

/** The repository root: the image's build context. */
export const ROOT = fileURLToPath(new URL('../..', import.meta.url))
/** This machine's podman settings (runc, cgroupfs, file events, the ulimits it can grant). */
const CONTAINERS_CONF = fileURLToPath(new URL('./containers.conf', import.meta.url))
const BASE_IMAGE_SCRIPT = fileURLToPath(new URL('./base-image.sh', import.meta.url))
const SERVICES_SCRIPT = fileURLToPath(new URL('../../scripts/services.sh', import.meta.url))
const ENV = { ...process.env, CONTAINERS_CONF }

export interface Run { code: number, stdout: string, stderr: string }

/** Runs podman (or `command`) to its end; never rejects: the caller reads the exit code. */
export function run (args: readonly string[], options: { command?: string, timeoutMs?: number } = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(options.command ?? 'podman', args, { env: ENV, timeout: options.timeoutMs ?? 120_000, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : 1
      resolve({ code, stdout, stderr: error !== null && stderr === '' ? error.message : stderr })
    })
  })
}

/** Runs podman and returns its stdout, trimmed; a non-zero exit throws with what it said. */
export async function podman (...args: string[]): Promise<string> {
  const result = await run(args)
  if (result.code !== 0) throw new Error(`podman ${args.join(' ')} exited ${result.code}: ${result.stderr.trim()}`)
  return result.stdout.trim()
}

const has = (tool: string): boolean => spawnSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' }).status === 0

/**
 * Why the image cannot be built and run here, or null. Installs podman, runc and mmdebstrap from
 * Debian when they are missing (with services.sh's apt helper, which waits for the package lock).
 */
export async function podmanUnavailableReason (): Promise<string | null> {
  if (process.getuid?.() !== 0) return 'not root: the image test runs rootful podman'
  const missing = ['podman', 'runc', 'mmdebstrap'].filter((tool) => !has(tool))
  if (missing.length > 0) {
    const install = await run(['-c', `source "${SERVICES_SCRIPT}" && apt_install podman runc mmdebstrap || { echo "$SERVICES_APT_ERROR" >&2; exit 1; }`], { command: 'bash', timeoutMs: 900_000 })
    if (install.code !== 0) return `${missing.join(', ')} missing and not installable: ${install.stderr.trim().split('\n').at(-1) ?? ''}`
  }
  const info = await run(['info', '--format', '{{.Host.OCIRuntime.Name}}'])
  if (info.code !== 0) return `podman cannot run here: ${info.stderr.trim().split('\n')[0] ?? ''}`
  return null
}

/**
 * Builds run at the lowest CPU priority: they share two cores with the rest of the suite, whose
 * timing-sensitive tests (emulated links, process signals) must not wait behind a compiler.
 */
const LOW_PRIORITY = ['-n', '19']

/** The Dockerfile's base image, pulled or (no registry reachable) built here; kept by its tag. */
export async function ensureBaseImage (): Promise<void> {
  const result = await run([...LOW_PRIORITY, 'bash', BASE_IMAGE_SCRIPT], { command: 'nice', timeoutMs: 900_000 })
  if (result.code !== 0) throw new Error(`base image: ${result.stderr.trim()}`)
}

/** The image's tag. Kept after the test: removing it would drop the final stage's cached layers with it. */
const IMAGE_TAG = 'localhost/lowband-test:latest'

/**
 * Builds the image from the repository's Dockerfile, as a user would, with the host's CA bundle
 * as the build secret npm trusts, and returns its id (runs use the id: another run may retag).
 * Unchanged layers (the dependency installs, keyed by the lock file) come from podman's cache.
 */
export async function buildImage (): Promise<string> {
  const caBundle = [process.env.NODE_EXTRA_CA_CERTS, '/etc/ssl/certs/ca-certificates.crt'].find((file) => file !== undefined && existsSync(file))
  const secret = caBundle === undefined ? [] : ['--secret', `id=npm-ca,src=${caBundle}`]
  const dir = await mkdtemp(join(tmpdir(), 'lowband-image-'))
  try {
    const idFile = join(dir, 'id')
    const result = await run([...LOW_PRIORITY, 'podman', 'build', '--format', 'docker', '--layers', ...secret, '--iidfile', idFile, '-t', IMAGE_TAG, ROOT], { command: 'nice', timeoutMs: 900_000 })
    if (result.code !== 0) throw new Error(`podman build exited ${result.code}: ${(result.stderr + result.stdout).trim().split('\n').slice(-20).join('\n')}`)
    return (await readFile(idFile, 'utf8')).trim()
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

/** `127.0.0.1:PORT` on the host for a container's published port. */
export async function publishedAddress (container: string, port: number): Promise<string> {
  return (await podman('port', container, `${port}/tcp`)).split('\n')[0]!.trim()
}

/** Runs the image's HEALTHCHECK until it passes (no systemd timers here to run it); false if it never does. */
export async function becomesHealthy (container: string, attempts = 120): Promise<boolean> {
  for (let i = 0; i < attempts; i++) {
    if ((await run(['healthcheck', 'run', container])).code === 0) return true
    await new Promise((resolve) => setTimeout(resolve, 500))
  }
  return false
}
