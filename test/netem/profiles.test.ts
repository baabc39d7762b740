import { describe, expect, it } from 'vitest'
import { getProfile, listProfiles, parseProfile, PROFILE_IDS, withOverrides } from '../../netem/profiles/index.js'

// The published numbers each profile must carry unchanged (down/up kbit/s, one-way ms, loss %).
const PUBLISHED: Record<string, { rate: [number, number]; delay: [number, number]; loss: number }> = {
  '2g-rural': { rate: [20, 18], delay: [650, 650], loss: 2 },
  '2g-urban': { rate: [35, 32], delay: [650, 650], loss: 0 },
  'edge-lossy': { rate: [240, 200], delay: [400, 440], loss: 1 },
  'edge-good': { rate: [250, 200], delay: [350, 370], loss: 0 },
  '3g-average': { rate: [780, 330], delay: [100, 100], loss: 0 },
  '3g-good': { rate: [850, 420], delay: [90, 100], loss: 0 },
  'slow-3g': { rate: [400, 400], delay: [1000, 1000], loss: 0 },
  flapping: { rate: [780, 330], delay: [100, 100], loss: 0 }
}

describe('netem profiles', () => {
  it('has exactly the profiles of issue 3', () => {
    expect([...PROFILE_IDS].sort()).toEqual(Object.keys(PUBLISHED).sort())
  })

  it.each(Object.entries(PUBLISHED))('%s carries its published rate, delay and loss', (id, want) => {
    const p = getProfile(id)
    expect([p.down.rateKbit, p.up.rateKbit]).toEqual(want.rate)
    expect([p.down.delayMs, p.up.delayMs]).toEqual(want.delay)
    expect([p.down.lossPct, p.up.lossPct]).toEqual([want.loss, want.loss])
  })

  it('cites a source with a link for every profile', () => {
    for (const p of listProfiles()) {
      expect(p.sources.some((s) => s.url?.startsWith('https://')), p.id).toBe(true)
    }
  })

  it('gives every bottleneck a buffer of at least ten full packets and four seconds', () => {
    for (const p of listProfiles()) {
      for (const d of [p.down, p.up]) {
        expect(d.queueBytes).toBeGreaterThanOrEqual(15_000)
        expect(d.queueBytes).toBeGreaterThanOrEqual((d.rateKbit * 1000 * 4) / 8)
      }
    }
  })

  it('makes only flapping drop the link: 10–30 s down, about once a minute', () => {
    for (const p of listProfiles()) expect(p.outages !== null, p.id).toBe(p.id === 'flapping')
    const { outages } = getProfile('flapping')
    expect(outages?.downS).toEqual({ min: 10, max: 30 })
    const meanCycle = outages ? (outages.upS.min + outages.upS.max + outages.downS.min + outages.downS.max) / 2 : 0
    expect(meanCycle).toBe(60)
  })

  it('rejects an unknown id with the list of known ones', () => {
    expect(() => getProfile('5g')).toThrow(/unknown netem profile '5g' \(known: 2g-rural/)
  })

  it('rejects invalid profiles with every problem named', () => {
    const base = getProfile('3g-good')
    expect(() => parseProfile({ ...base, down: { ...base.down, rateKbit: -1 } })).toThrow(/down\.rateKbit/)
    expect(() => parseProfile({ ...base, up: { ...base.up, jitterMs: 500 } })).toThrow(/jitterMs must not exceed delayMs/)
    expect(() => parseProfile({ ...base, extra: 1 })).toThrow(/invalid netem profile/)
    expect(() => parseProfile({ ...base, outages: { upS: { min: 5, max: 1 }, downS: { min: 1, max: 2 } } })).toThrow(
      /min must not exceed max/
    )
  })

  it('derives validated variants with overrides', () => {
    const jittery = withOverrides(getProfile('3g-good'), { down: { jitterMs: 20 } })
    expect(jittery.id).toBe('3g-good-custom')
    expect(jittery.down.jitterMs).toBe(20)
    expect(jittery.down.rateKbit).toBe(850)
    expect(() => withOverrides(getProfile('3g-good'), { up: { lossPct: 101 } })).toThrow(/up\.lossPct/)
  })
})
