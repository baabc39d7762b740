import { execFile } from 'node:child_process'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { chmod, chown, mkdtemp, rm } from 'node:fs/promises'
import { createServer, type AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { withChildren } from './proc.js'

const run = promisify(execFile)
const PG_ROOT = '/usr/lib/postgresql'

/** Debian's PostgreSQL binaries (the newest installed version), if any. */
function pgBin (): string | undefined {
  if (!existsSync(PG_ROOT)) return undefined
  const version = readdirSync(PG_ROOT).sort((a, b) => Number(a) - Number(b)).at(-1)
  return version === undefined ? undefined : join(PG_ROOT, version, 'bin')
}

/** Why a private PostgreSQL cannot be started here, or undefined when it can. */
export function privatePostgresMissing (): string | undefined {
  if (pgBin() === undefined) return 'PostgreSQL is not installed (apt-get install postgresql)'
  if (process.getuid?.() !== 0) return 'starting a private PostgreSQL as its own user needs root'
  return undefined
}

/**
 * A PostgreSQL server of this test's own, on a free loopback port, that the test may stop and
 * start again (the shared test server is never stopped). Runs as the `postgres` user: PostgreSQL
 * refuses to run as root (as scripts/services.sh does).
 */
export class PrivatePostgres {
  readonly url: string
  readonly #dir: string
  readonly #port: number

  private constructor (dir: string, port: number) {
    this.#dir = dir
    this.#port = port
    this.url = `postgres://lowband@127.0.0.1:${port}/postgres`
  }

  static async create (): Promise<PrivatePostgres> {
    const dir = await mkdtemp(join(tmpdir(), 'lowband-pg-'))
    await chmod(dir, 0o755)
    const { uid, gid } = await postgresUser()
    await chown(dir, uid, gid)
    await asPostgres('initdb', ['-D', join(dir, 'data'), '-A', 'trust', '-U', 'lowband'])
    const server = new PrivatePostgres(dir, await freePort())
    await server.start()
    return server
  }

  async start (): Promise<void> {
    await asPostgres('pg_ctl', ['-D', join(this.#dir, 'data'), '-l', join(this.#dir, 'log'), '-w', '-o',
      `-p ${this.#port} -k ${this.#dir} -c listen_addresses=127.0.0.1`, 'start'])
  }

  /** Stops at once, as a crash or a cut would: connections are dropped without a goodbye. */
  async stop (): Promise<void> {
    await asPostgres('pg_ctl', ['-D', join(this.#dir, 'data'), '-m', 'immediate', '-w', 'stop'])
  }

  /** The server's processes now: the postmaster (first line of postmaster.pid) and its backends. */
  pids (): number[] {
    return withChildren(Number(readFileSync(join(this.#dir, 'data', 'postmaster.pid'), 'utf8').split('\n')[0]))
  }

  async destroy (): Promise<void> {
    await this.stop().catch(() => undefined)
    await rm(this.#dir, { recursive: true, force: true })
  }
}

async function asPostgres (tool: string, args: string[]): Promise<void> {
  await run('runuser', ['-u', 'postgres', '--', join(pgBin()!, tool), ...args])
}

async function postgresUser (): Promise<{ uid: number, gid: number }> {
  const { stdout } = await run('id', ['postgres'])
  const uid = Number(/uid=(\d+)/.exec(stdout)?.[1])
  const gid = Number(/gid=(\d+)/.exec(stdout)?.[1])
  return { uid, gid }
}

async function freePort (): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}
