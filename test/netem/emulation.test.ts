import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { createInterface } from 'node:readline'
import { describe, expect, it } from 'vitest'
import { linkemuDirectionArg } from '../../netem/backends/linkemu.js'
import { measureRtt, measureStreams } from '../../netem/check/measure.js'
import type { StreamPlan } from '../../netem/check/plan.js'
import { createLink } from '../../netem/link.js'
import { allocateNamespacePair, createNamespace, listOwnNamespaces, netnsPath } from '../../netem/namespaces.js'
import { nativeTool } from '../../netem/native.js'
import { getProfile, withOverrides } from '../../netem/profiles/index.js'
import { eventually, skipReason } from './support.js'

/* How the emulated link treats packets beyond what calibration checks: jitter, reordering, the bottleneck buffer. */

const base = getProfile('3g-good')

function paced(count: number, sendBps: number, ipSize = 100): StreamPlan {
  return { ipSize, count, sendBps, firstMs: 2_000, idleMs: 1_000 }
}

describe.skipIf(skipReason !== null)(`link emulation${skipReason ? ` (skipped: ${skipReason})` : ''}`, () => {
  it('spreads delay with jitter but keeps packets in order', async () => {
    const profile = withOverrides(base, { down: { jitterMs: 30 }, up: { jitterMs: 30 } })
    const link = await createLink(profile, { seed: 5 })
    try {
      const rtt = await measureRtt(link, { count: 30, intervalUs: 40_000, payload: 16, waitMs: 1_500, profileMs: 190, expectedMs: 191 })
      expect(rtt.maxMs - rtt.minMs).toBeGreaterThan(15)
      expect(rtt.medianMs).toBeGreaterThan(190 - 30)
      expect(rtt.medianMs).toBeLessThan(190 + 60)
      const seen = await measureStreams(link, { down: paced(400, 200_000), up: paced(400, 200_000) })
      expect([seen.down.received, seen.down.reordered]).toEqual([400, 0])
      expect([seen.up.received, seen.up.reordered]).toEqual([400, 0])
    } finally {
      await link.close()
    }
  }, 30_000)

  it('reorders when the profile asks for it, losing nothing', async () => {
    const link = await createLink(withOverrides(base, { down: { reorderPct: 10 } }), { seed: 9 })
    try {
      const seen = await measureStreams(link, { down: paced(400, 200_000), up: paced(400, 200_000) })
      expect(seen.down.received).toBe(400)
      expect(seen.down.reordered).toBeGreaterThan(0)
      expect(seen.up.reordered).toBe(0)
    } finally {
      await link.close()
    }
  }, 30_000)

  it('tail-drops what the bottleneck buffer cannot hold and still delivers at the link rate', async () => {
    // 100 kbit/s with a 15 kB buffer, offered 300 kbit/s for 2 s: about half must be dropped at the queue.
    const link = await createLink(withOverrides(base, { up: { rateKbit: 100, queueBytes: 15_000 } }))
    try {
      const seen = await measureStreams(link, { down: paced(10, 100_000), up: paced(75, 300_000, 1000) })
      const c = await link.counters()
      expect(c.up.queueDropped).toBeGreaterThan(20)
      expect(seen.up.received + (c.up.queueDropped ?? 0)).toBe(75)
      expect(seen.up.rateKbit).toBeGreaterThan(95)
      expect(seen.up.rateKbit).toBeLessThan(105)
      expect(c.down.dropped).toBe(0)
    } finally {
      await link.close()
    }
  }, 30_000)

  it('linkemu removes its namespaces itself when its parent goes away without closing', async () => {
    const ns = allocateNamespacePair()
    await Promise.all([createNamespace(ns.server), createNamespace(ns.client)])
    const spec = linkemuDirectionArg(base.down)
    const child = spawn(await nativeTool('linkemu'), [
      '--netns-a', netnsPath(ns.server), '--netns-b', netnsPath(ns.client), '--dev', 'lbwan',
      '--down', spec, '--up', spec,
      '--cleanup-netns', netnsPath(ns.server), '--cleanup-netns', netnsPath(ns.client)
    ], { stdio: ['pipe', 'pipe', 'inherit'] })
    const [ready] = (await once(createInterface({ input: child.stdout }), 'line')) as [string]
    expect(JSON.parse(ready)).toMatchObject({ event: 'ready' })
    // What a dead parent looks like to linkemu: its control pipe closes without "quit".
    child.stdin.end()
    await once(child, 'exit')
    expect(await eventually(() => !listOwnNamespaces().some((n) => n === ns.server || n === ns.client))).toBe(true)
  }, 20_000)
})
