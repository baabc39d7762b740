import { execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'

const CANDIDATES = ['/usr/sbin/mosquitto', '/usr/bin/mosquitto', '/usr/local/sbin/mosquitto']

/** The mosquitto binary, installed from Debian's packages when missing (the bench runs as root). */
export function ensureMosquitto (): string {
  const found = CANDIDATES.find((path) => existsSync(path))
  if (found !== undefined) return found
  process.stderr.write('bench: installing mosquitto (apt-get)\n')
  const install = (): void => { execFileSync('apt-get', ['install', '-y', '-q', 'mosquitto'], { stdio: 'ignore', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } }) }
  try {
    install()
  } catch {
    // A fresh machine has no package lists yet.
    execFileSync('apt-get', ['update', '-q'], { stdio: 'ignore' })
    install()
  }
  const installed = CANDIDATES.find((path) => existsSync(path))
  if (installed === undefined) throw new Error('mosquitto is not installed and apt-get could not install it')
  return installed
}

export function mosquittoVersion (binary: string): string {
  try {
    // `mosquitto -h` prints its version first and exits with 3.
    return execFileSync(binary, ['-h'], { encoding: 'utf8' }).split('\n')[0] ?? ''
  } catch (error) {
    return String((error as { stdout?: string }).stdout ?? '').split('\n')[0] ?? ''
  }
}

/**
 * A config of our own: loopback only, anonymous, nothing on disk. Queues and in-flight windows are
 * unlimited (0), as they are in Aedes: mosquitto's defaults (20 in flight, 1000 queued, then drop)
 * would turn a load step into silent message loss instead of latency.
 */
export async function writeMosquittoConfig (dir: string, port: number): Promise<string> {
  const file = join(dir, 'mosquitto.conf')
  await writeFile(file, [
    `listener ${port} 127.0.0.1`,
    'allow_anonymous true',
    'persistence false',
    'set_tcp_nodelay true',
    'max_connections -1',
    'max_inflight_messages 0',
    'max_queued_messages 0',
    'log_dest stderr',
    'log_type error',
    ''
  ].join('\n'))
  return file
}
