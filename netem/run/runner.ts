import { randomBytes } from 'node:crypto'
import { rmSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { mintDeviceToken, secretFromText } from '../../protocol/token.js'
import type { LinkMode } from '../backends/types.js'
import { createLink, type Link } from '../link.js'
import type { Profile } from '../profiles/index.js'
import { registerCleanup } from '../teardown.js'
import { startBrokerOnLink, type BrokerOnLink } from './broker-process.js'
import { runPhones, type PhoneProgress } from './phone-process.js'
import { runBudgetMs } from './plan.js'
import { startS3OnLink, type S3OnLink } from './s3-process.js'
import { phonesFor, PHONE_DEVICE, type PhoneReport, type ScenarioPlan } from './types.js'

export interface RunOptions {
  /** Seeds loss, jitter and the outage schedule. Default 1, so a run replays. */
  seed?: number
  mode?: 'auto' | LinkMode
  log?: (line: string) => void
  onProgress?: (progress: PhoneProgress) => void
}

/** A link state change, in ms since the phones' t0. */
export interface OutageMark {
  state: 'up' | 'down'
  atMs: number
}

/** Everything one run measured, before any statistics. */
export interface ScenarioRun {
  profile: Profile
  plan: ScenarioPlan
  mode: LinkMode
  seed: number
  report: PhoneReport
  /** Link state changes during the scenario, on the phones' clock. */
  outages: OutageMark[]
  /** Wall time of the whole run, set-up and teardown included. */
  durationMs: number
}

async function mintTokens(plan: ScenarioPlan, jwtSecret: string): Promise<Record<string, string>> {
  const tokens: Record<string, string> = {}
  for (const user of phonesFor(plan)) tokens[user] = await mintDeviceToken({ userId: user, deviceId: PHONE_DEVICE, ttl: '2h', secret: secretFromText(jwtSecret) })
  return tokens
}

/**
 * Runs one scenario on one profile: an emulated link, the broker on its server
 * side (inside the server namespace), the simulated phones on its client side.
 * The link, the broker, the phone process and the broker's data directory are
 * removed whatever happens: on return, on error, and (through the teardown
 * registry) on Ctrl-C or SIGTERM.
 */
export async function runScenario(profile: Profile, plan: ScenarioPlan, options: RunOptions = {}): Promise<ScenarioRun> {
  const started = Date.now()
  const seed = options.seed ?? 1
  const dataDir = await mkdtemp(join(tmpdir(), 'lowband-netem-'))
  const unregister = registerCleanup(() => rmSync(dataDir, { recursive: true, force: true }))
  let link: Link | undefined
  let broker: BrokerOnLink | undefined
  let s3: S3OnLink | undefined
  try {
    link = await createLink(profile, { name: `${profile.id}/${plan.scenario}`, seed, mode: options.mode, log: options.log })
    const jwtSecret = randomBytes(24).toString('base64url')
    // Media: object storage beside the broker, so blobs cross the same emulated link.
    if (plan.scenario === 'media') s3 = await startS3OnLink(link)
    broker = await startBrokerOnLink(link, dataDir, jwtSecret, s3?.broker)
    const config = { url: `mqtt://${link.serverAddr}:${broker.port}`, plan, tokens: await mintTokens(plan, jwtSecret) }
    const report = await runPhones(link, config, runBudgetMs(plan), options.onProgress ?? (() => undefined))
    const t0Ns = BigInt(report.t0Ns)
    // Changes before t0 (a scheduled outage during set-up) come out negative: the timeline still needs them.
    const outages = link.outageLog().map((e) => ({ state: e.state, atMs: Number(e.atNs - t0Ns) / 1e6 }))
    return { profile, plan, mode: link.mode, seed, report, outages, durationMs: Date.now() - started }
  } finally {
    try {
      await broker?.stop()
      await s3?.stop()
    } finally {
      // Also ends anything still running in either namespace.
      await link?.close()
      await rm(dataDir, { recursive: true, force: true })
      unregister()
    }
  }
}
