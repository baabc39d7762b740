import { copyFile, mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startBroker } from './brokers.js'
import { withWarmLoad, type StepMeasure } from './chat-load.js'
import { summarizeProfile, type ProfileSummary } from './cpu-profile.js'
import { removeOnExit } from './proc.js'
import { PAIRS } from './throughput.js'

export interface ProfileReport {
  /** Offered load while profiling, messages/s. */
  rate: number
  durationMs: number
  measure: StepMeasure
  summary: ProfileSummary
}

/**
 * lowband under the throughput section's 1:1 load, with `node --cpu-prof`: where its time goes.
 * The broker is stopped gracefully, which is when V8 writes the profile.
 */
export async function profileLowband (rate: number, durationMs: number, log: (line: string) => void, keepAs?: string): Promise<ProfileReport> {
  const dir = removeOnExit(await mkdtemp(join(tmpdir(), 'lowband-prof-')))
  try {
    const broker = await startBroker('lowband', { nodeFlags: ['--cpu-prof', `--cpu-prof-dir=${dir}`] })
    let measure: StepMeasure
    try {
      measure = await withWarmLoad(broker, PAIRS, rate, (load) => load.step(rate, durationMs, 3000))
    } finally {
      await broker.stop()
    }
    const file = (await readdir(dir)).find((name) => name.endsWith('.cpuprofile'))
    if (file === undefined) throw new Error('the broker wrote no .cpuprofile')
    // Kept on request, to open in Chrome DevTools or speedscope for the full call tree.
    if (keepAs !== undefined) await copyFile(join(dir, file), keepAs)
    const summary = summarizeProfile(JSON.parse(await readFile(join(dir, file), 'utf8')) as Parameters<typeof summarizeProfile>[0])
    log(`profile: ${rate}/s for ${durationMs} ms, busy ${summary.busyMs} of ${summary.sampledMs} ms sampled; top area ${summary.byArea[0]?.name ?? '?'} ${summary.byArea[0]?.pct ?? 0} %`)
    return { rate, durationMs, measure, summary }
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}
