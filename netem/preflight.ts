import { accessSync, constants } from 'node:fs'
import { NetemError } from './errors.js'
import { run } from './system.js'

/**
 * Why this process cannot emulate links, or null when it can. Synchronous and
 * side-effect free so tests can use it in describe.skipIf.
 */
export function emulationUnavailableReason(): string | null {
  if (process.platform !== 'linux') return 'network emulation needs Linux network namespaces'
  if (process.getuid?.() !== 0) return 'network emulation needs root (network namespaces and TUN devices)'
  try {
    accessSync('/dev/net/tun', constants.R_OK | constants.W_OK)
  } catch {
    return '/dev/net/tun is missing'
  }
  return null
}

/** Throws a one-line NetemError unless namespaces can actually be made here. */
export async function assertCanEmulate(): Promise<void> {
  const reason = emulationUnavailableReason()
  if (reason) throw new NetemError(reason)
  try {
    await run('ip', ['netns', 'list'])
  } catch (err) {
    throw new NetemError(`iproute2 is needed: ${(err as Error).message}`)
  }
}
