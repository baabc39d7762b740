import { execFile } from 'node:child_process'
import { chmod, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

const SERVICES = fileURLToPath(new URL('../../scripts/services.sh', import.meta.url))
const LOCK_ERROR = 'E: Could not get lock /var/lib/dpkg/lock-frontend. It is held by process 4242 (apt-get)'

/**
 * scripts/services.sh against a package manager whose lock another process holds: a PATH with a
 * stand-in apt-get (records its arguments, fails as apt does), no redis-server, and `id` saying
 * root, so no real package is touched.
 */
describe('scripts/services.sh', () => {
  let bin: string
  beforeAll(async () => {
    bin = await mkdtemp(join(tmpdir(), 'lowband-services-'))
    await writeFile(join(bin, 'apt-get'), `#!/bin/bash\necho "$*" >> "${bin}/apt-get.calls"\necho "${LOCK_ERROR}" >&2\nexit 100\n`)
    await writeFile(join(bin, 'id'), '#!/bin/bash\necho 0\n')
    await Promise.all(['apt-get', 'id'].map((tool) => chmod(join(bin, tool), 0o755)))
    for (const tool of ['mktemp', 'grep', 'tail', 'rm']) await symlink(`/usr/bin/${tool}`, join(bin, tool)).catch(() => symlink(`/bin/${tool}`, join(bin, tool)))
  })
  afterAll(async () => { await rm(bin, { recursive: true, force: true }) })

  it('waits for the package manager\'s lock, and says in one line which service it could not start', async () => {
    const script = `source "${SERVICES}"; SERVICES_RUN_DIR=$(mktemp -d); start_redis; rm -rf "$SERVICES_RUN_DIR"; echo "url=\${LOWBAND_TEST_REDIS_URL:-}"`
    const { stdout, stderr } = await new Promise<{ stdout: string, stderr: string }>((resolve, reject) => {
      execFile('/bin/bash', ['--norc', '--noprofile', '-c', script], { env: { PATH: bin } }, (error, out, err) => error ? reject(error) : resolve({ stdout: out, stderr: err }))
    })
    expect(stdout).toBe('url=\n')
    expect(stderr).toBe(`services: Redis NOT started: apt-get install redis-server failed: ${LOCK_ERROR}; tests that need it will skip\n`)
    const calls = (await readFile(join(bin, 'apt-get.calls'), 'utf8')).trim().split('\n')
    expect(calls).toEqual(['-o DPkg::Lock::Timeout=600 update -qq', '-o DPkg::Lock::Timeout=600 install -y -qq redis-server'])
  })
})
