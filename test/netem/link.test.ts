import { spawnSync } from 'node:child_process'
import { afterAll, describe, expect, it } from 'vitest'
import { calibrate, type CalibrationResult } from '../../netem/check/calibrate.js'
import { measureStreams } from '../../netem/check/measure.js'
import type { StreamPlan } from '../../netem/check/plan.js'
import { NetemError } from '../../netem/errors.js'
import { createLink } from '../../netem/link.js'
import { listOwnNamespaces } from '../../netem/namespaces.js'
import { getProfile } from '../../netem/profiles/index.js'
import { run } from '../../netem/system.js'
import { linkemuChildrenOf, namespacesOf, skipReason } from './support.js'

/** A small paced stream: `count` packets of `ipSize` bytes at 100 kbit/s. */
function stream(count: number, ipSize = 500): StreamPlan {
  return { ipSize, count, sendBps: 100_000, firstMs: 2_000, idleMs: 800 }
}

function expectCalibrated(r: CalibrationResult): void {
  expect(r.rtt.errorPct, 'RTT error %').toBeGreaterThanOrEqual(-10)
  expect(r.rtt.errorPct, 'RTT error %').toBeLessThanOrEqual(10)
  for (const d of ['down', 'up'] as const) {
    expect(Math.abs(r.rate[d].errorPct ?? 100), `rate ${d} error %`).toBeLessThanOrEqual(10)
    expect(Math.abs(r.loss[d].errorPp), `loss ${d} error pp`).toBeLessThanOrEqual(1)
    expect(r.loss[d].sent, `loss ${d} sample`).toBeGreaterThanOrEqual(1000)
  }
  expect(r.ok).toBe(true)
}

describe.skipIf(skipReason !== null)(`emulated link${skipReason ? ` (skipped: ${skipReason})` : ''}`, () => {
  afterAll(async () => {
    // Whatever a test did, nothing of ours may survive the file.
    expect(namespacesOf(process.pid)).toEqual([])
    expect(linkemuChildrenOf(process.pid)).toEqual([])
    const { stdout } = await run('ip', ['-o', 'link', 'show'])
    expect(stdout).not.toContain('lbwan')
  })

  it('calibrates edge-lossy within tolerance (RTT, rate and 1 % loss each way)', async () => {
    expectCalibrated(await calibrate(getProfile('edge-lossy'), { seed: Date.now() % 100_000 }))
  }, 60_000)

  it('calibrates 3g-good within tolerance', async () => {
    const result = await calibrate(getProfile('3g-good'))
    expectCalibrated(result)
    expect(result.rtt.profileMs).toBe(190)
  }, 60_000)

  it('counts every packet and IP byte that crosses, per direction', async () => {
    const link = await createLink('3g-good')
    try {
      const seen = await measureStreams(link, { down: stream(60, 400), up: stream(40, 500) })
      expect(seen.down.received).toBe(60)
      expect(seen.up.received).toBe(40)
      const c = await link.counters()
      expect({ packets: c.down.packets, bytes: c.down.bytes, dropped: c.down.dropped }).toEqual({ packets: 60, bytes: 60 * 400, dropped: 0 })
      expect({ packets: c.up.packets, bytes: c.up.bytes, dropped: c.up.dropped }).toEqual({ packets: 40, bytes: 40 * 500, dropped: 0 })
    } finally {
      await link.close()
    }
  }, 20_000)

  it('drops everything while the link is down, and carries traffic again once it is back', async () => {
    const link = await createLink('3g-good')
    try {
      await link.setLinkUp(false)
      expect(link.isUp()).toBe(false)
      const during = await measureStreams(link, { down: stream(20), up: stream(20) })
      expect([during.down.received, during.up.received]).toEqual([0, 0])
      await link.setLinkUp(true)
      const after = await measureStreams(link, { down: stream(20), up: stream(20) })
      expect([after.down.received, after.up.received]).toEqual([20, 20])
      const c = await link.counters()
      expect([c.down.outageDropped, c.up.outageDropped]).toEqual([20, 20])
      expect(link.outageLog().map((e) => `${e.state}/${e.cause}`)).toEqual(['down/manual', 'up/manual'])
    } finally {
      await link.close()
    }
  }, 30_000)

  it('removes both namespaces, the link and linkemu on close, and close twice is harmless', async () => {
    const link = await createLink('2g-urban')
    // The mode used is reported with its reason.
    expect(link.modeReason).toMatch(link.mode === 'netem' ? /has sch_netem/ : /no sch_netem/)
    expect(listOwnNamespaces()).toEqual(expect.arrayContaining([link.serverNs, link.clientNs]))
    const first = await link.close()
    expect(await link.close()).toBe(first)
    expect(listOwnNamespaces()).not.toContain(link.serverNs)
    expect(listOwnNamespaces()).not.toContain(link.clientNs)
    expect(linkemuChildrenOf(process.pid)).toEqual([])
    await expect(link.setLinkUp(false)).rejects.toThrow(/closed/)
  }, 20_000)

  it('leaves nothing behind when creation fails half-way', async () => {
    // Forcing kernel netem fails on kernels without sch_netem; with it, the link just works.
    const attempt = createLink('3g-good', { mode: 'netem' })
    const outcome = await attempt.then(
      async (link) => {
        await link.close()
        return 'created'
      },
      (err: unknown) => err
    )
    // Either the kernel has sch_netem and the link came up, or it refused with the named reason.
    expect(outcome === 'created' || (outcome instanceof NetemError && /no sch_netem/.test(outcome.message)) ? 'ok' : outcome).toBe('ok')
    expect(namespacesOf(process.pid)).toEqual([])
  }, 20_000)

  it('sweeps namespaces left by a process that died', async () => {
    const dead = spawnSync('true').pid
    const stale = `lb-srv-${dead}-0`
    await run('ip', ['netns', 'add', stale])
    const link = await createLink('3g-good')
    await link.close()
    expect(listOwnNamespaces()).not.toContain(stale)
  }, 20_000)
})
