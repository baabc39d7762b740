import { describe, expect, it } from 'vitest'
import { linkemuDirectionArg } from '../../netem/backends/linkemu.js'
import { netemQdiscArgs } from '../../netem/backends/tc-netem.js'
import { planCalibration, serialisationMs, type StreamPlan } from '../../netem/check/plan.js'
import { getProfile, listProfiles, withOverrides } from '../../netem/profiles/index.js'

function streamSeconds(plan: StreamPlan): number {
  return (plan.count * plan.ipSize * 8) / plan.sendBps
}

describe('calibration plan', () => {
  it('measures loss over at least 1000 packets each way for every profile', () => {
    for (const p of listProfiles()) {
      const plan = planCalibration(p)
      expect(plan.loss.down.count, p.id).toBeGreaterThanOrEqual(1000)
      expect(plan.loss.up.count, p.id).toBeGreaterThanOrEqual(1000)
    }
  })

  it('keeps loss probes below the rate and rate probes above it', () => {
    for (const p of listProfiles()) {
      const plan = planCalibration(p)
      expect(plan.loss.up.sendBps).toBeLessThan(p.up.rateKbit * 1000)
      expect(plan.rate.up.sendBps).toBeGreaterThan(p.up.rateKbit * 1000)
      // The oversend must not overflow the buffer, or tail drops would be counted as rate.
      const backlogBytes = ((plan.rate.up.sendBps - p.up.rateKbit * 1000) * streamSeconds(plan.rate.up)) / 8
      expect(backlogBytes).toBeLessThan(p.up.queueBytes)
    }
  })

  it('sizes probes so a check stays near 30 s even at 18 kbit/s', () => {
    for (const p of listProfiles()) {
      const plan = planCalibration(p)
      const rttS = (plan.rtt.count * plan.rtt.intervalUs) / 1e6 + plan.rtt.expectedMs / 1000
      const rateS = Math.max(streamSeconds(plan.rate.down), streamSeconds(plan.rate.up)) * 1.25
      const lossS = Math.max(streamSeconds(plan.loss.down), streamSeconds(plan.loss.up))
      expect(rttS + rateS + lossS, p.id).toBeLessThan(30)
    }
  })

  it('expects the RTT of the profile plus serialising the probe both ways', () => {
    const p = getProfile('2g-rural')
    const { rtt } = planCalibration(p)
    expect(rtt.profileMs).toBe(1300)
    expect(rtt.expectedMs).toBeCloseTo(1300 + serialisationMs(44, 20) + serialisationMs(44, 18), 6)
  })
})

describe('emulator arguments', () => {
  const edge = getProfile('edge-lossy')

  it('passes linkemu rate in bit/s, times in µs, probabilities as fractions', () => {
    expect(linkemuDirectionArg(edge.up)).toBe(`200000:440000:0:0.01:0:${edge.up.queueBytes}`)
    const jittery = withOverrides(edge, { down: { jitterMs: 25.5, reorderPct: 5 } })
    expect(linkemuDirectionArg(jittery.down)).toBe(`240000:400000:25500:0.01:0.05:${edge.down.queueBytes}`)
  })

  it('gives netem the same link, counting IP bytes, and loss 100 % while down', () => {
    const args = netemQdiscArgs(edge.down)
    expect(args.slice(0, 5)).toEqual(['netem', 'delay', '400ms', 'loss', '1%'])
    expect(args).toContain('240000bit')
    expect(args[args.indexOf('240000bit') + 1]).toBe('-14')
    expect(args).not.toContain('reorder')
    // Buffer in full packets (120000 B / 1500) plus what 400 ms at 240 kbit/s holds in 40-byte packets.
    expect(args.slice(-2)).toEqual(['limit', String(80 + 300)])
    expect(netemQdiscArgs(edge.down, true)).toContain('100%')
    const reordering = netemQdiscArgs(withOverrides(edge, { down: { jitterMs: 10, reorderPct: 2 } }).down)
    expect(reordering.slice(0, 4)).toEqual(['netem', 'delay', '400ms', '10ms'])
    expect(reordering).toContain('reorder')
  })
})
