import { NetemError } from '../errors.js'
import type { Link } from '../link.js'
import { brokerCli } from './paths.js'
import { startOnServer } from './server-process.js'

export interface BrokerOnLink {
  /** MQTT over TCP, on link.serverAddr. */
  readonly port: number
  /** The broker's recent log output (for error messages). */
  output(): string
  /** SIGTERM, then SIGKILL if it does not stop in time. Safe to call twice. */
  stop(): Promise<void>
}

/** More for the broker of one run: start options, and environment (for secrets, kept off the command line). */
export interface BrokerExtras {
  args?: readonly string[]
  env?: Readonly<Record<string, string>>
}

/**
 * The environment of the broker: ours, minus any LOWBAND_* setting of the
 * caller's shell (a LOWBAND_POSTGRES_URL, say, points at nothing reachable
 * from inside the namespace), plus the run's own secret.
 */
function brokerEnv(jwtSecret: string, extra: Readonly<Record<string, string>>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {}
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith('LOWBAND_')) env[key] = value
  // By environment rather than argv: a secret on a command line is visible in ps.
  env.LOWBAND_JWT_SECRET = jwtSecret
  return { ...env, ...extra }
}

/**
 * Starts `lowband start` inside the link's server namespace, listening on the
 * server address with ephemeral ports, and resolves once its "lowband ready"
 * log line names the MQTT port.
 */
export async function startBrokerOnLink(link: Link, dataDir: string, jwtSecret: string, extras: BrokerExtras = {}): Promise<BrokerOnLink> {
  const args = ['start', '--host', link.serverAddr, '--port', '0', '--ws-port', '0', '--http-port', '0', '--data-dir', dataDir, ...(extras.args ?? [])]
  // info, not warn: the ready line the port is read from is an info line.
  const broker = await startOnServer(link, 'broker', [process.execPath, brokerCli(), ...args, '--log-level', 'info'], brokerEnv(jwtSecret, extras.env ?? {}), (line) => {
    if (!line.includes('"lowband ready"')) return undefined
    const { tcp } = JSON.parse(line) as { tcp?: unknown }
    if (typeof tcp !== 'number') throw new NetemError(`broker ready line without a tcp port: ${line}`)
    return tcp
  })
  return { port: broker.ready, output: broker.output, stop: broker.stop }
}
