import { describe, expect, it } from 'vitest'
import { getProfile } from '../../netem/profiles/index.js'
import { mediaTable } from '../../netem/report/media.js'
import type { RunRecord } from '../../netem/run/matrix.js'
import { mediaFloors } from '../../netem/run/media-floor.js'
import { summarize } from '../../netem/run/metrics.js'
import { planFor, runBudgetMs } from '../../netem/run/plan.js'
import { mediaMark, type PhoneReport } from '../../netem/run/types.js'

/* The media scenario's floors and report, in memory (runs over a real link: `lowband netem run --scenario media`, root). */

describe('netem media scenario bookkeeping', () => {
  const profile = getProfile('3g-average') // 780/330 kbit/s, 100 ms each way
  const plan = planFor(profile, 'media')

  it('floors a 100 KB photo at its bytes over each rate plus the round trips nothing saves', () => {
    expect(plan).toMatchObject({ scenario: 'media', photoBytes: 102_400, messages: 3 })
    const floors = mediaFloors(profile, 102_400)
    const up = (102_400 * 8) / 330
    const down = (102_400 * 8) / 780
    expect(floors.uploadMs).toBeCloseTo(2 * 200 + up, 6)
    expect(floors.recipientMs).toBeCloseTo(floors.uploadMs + 3 * 200 + down, 6)
    // Budget: every photo gets its own delivery deadline.
    expect(runBudgetMs(plan)).toBeGreaterThan(3 * plan.deliveryTimeoutMs)
  })

  it('reports upload time and time until the recipient has it against their floors', () => {
    const report: PhoneReport = {
      t0Ns: '0',
      sent: [{ index: 0, phase: 'media', from: 'p1', recipients: ['p2'], sentMs: 1000, storedMs: 5000, id: 'u:p1:p2:1', cseq: 1 }],
      deliveries: [{ index: 0, to: 'p2', atMs: 7800, id: 'u:p1:p2:1', cseq: 1, duplicate: false, outOfOrder: false }],
      windows: [],
      marks: { [mediaMark.upload(0)]: 1000, [mediaMark.uploaded(0)]: 4600, [mediaMark.received(0)]: 5100 },
      facts: { photoBytes: 102_400 },
      errors: []
    }
    const metrics = summarize({ profile, plan, mode: 'linkemu', seed: 1, report, outages: [], durationMs: 0 })
    expect(metrics.ok).toBe(true)
    expect(metrics.latency?.p50Ms).toBe(6800)
    expect(metrics.floorMs).toBeCloseTo(mediaFloors(profile, 102_400).recipientMs, 6)
    const record: RunRecord = { profile: profile.id, scenario: 'media', plan, seed: 1, durationMs: 0, metrics, marks: report.marks }
    const [header, , row] = mediaTable([record])
    expect(header).toContain('upload ÷ floor')
    const floors = mediaFloors(profile, 102_400)
    expect(row).toBe(`| \`3g-average\` | 100 KB | 1 | 3600 / 3600 | ${Math.round(floors.uploadMs)} | ${(3600 / floors.uploadMs).toFixed(2)} | 6800 / 6800 | ${Math.round(floors.recipientMs)} | ${(6800 / floors.recipientMs).toFixed(2)} |`)
  })
})
