import { describe, expect, it } from 'vitest'
import { Recorder, type Delivered } from '../../netem/phones/recorder.js'
import { getProfile } from '../../netem/profiles/index.js'
import { percentile, summarize } from '../../netem/run/metrics.js'
import { planFor } from '../../netem/run/plan.js'
import type { ScenarioRun } from '../../netem/run/runner.js'
import type { PhoneReport, Traffic } from '../../netem/run/types.js'

/*
 * The scenario runner's bookkeeping, in memory: how deliveries are classified
 * and how a run's numbers are derived. The runs over real links are in
 * scenarios.test.ts; these make sure a duplicate, a reordering or a loss
 * would actually show up there.
 */

function message(index: number, id: string, from: string, seq: number, cseq: number, recorder: Recorder): Delivered {
  return { id, from, to: 'p2', seq, cseq, body: recorder.body(index) }
}

async function recorderWithSends(count: number): Promise<Recorder> {
  const recorder = new Recorder(40, () => undefined)
  recorder.phase = 'test'
  for (let i = 0; i < count; i++) recorder.launch(async () => ({ id: `m${i}`, cseq: i + 1 }), 'p1', ['p2'])
  await recorder.settled(1000)
  return recorder
}

const traffic = (up: number, down: number): Traffic => ({ upBytes: up, downBytes: down, upPackets: 0, downPackets: 0 })

function runOf(report: PhoneReport): ScenarioRun {
  const profile = getProfile('3g-good')
  return { profile, plan: planFor(profile, 'burst'), mode: 'linkemu', seed: 1, report, outages: [], durationMs: 0 }
}

function reportOf(recorder: Recorder, bytes: { up: number; down: number } = { up: 0, down: 0 }): PhoneReport {
  return {
    t0Ns: recorder.t0Ns.toString(),
    sent: recorder.sent,
    deliveries: recorder.deliveries,
    windows: [{ phase: 'test', messages: recorder.sent.length, before: traffic(1000, 2000), after: traffic(1000 + bytes.up, 2000 + bytes.down) }],
    marks: {},
    facts: {},
    errors: []
  }
}

describe('scenario bookkeeping', () => {
  it('reads the message index back from the padded body, and ignores messages it did not send', async () => {
    const recorder = await recorderWithSends(2)
    expect(recorder.body(1)).toHaveLength(40)
    expect(recorder.body(1).startsWith('lbn/1/')).toBe(true)
    recorder.delivered('p2', { id: 'sys', from: 'p1', to: 'p2', seq: 1, cseq: 1, body: 'group created' })
    recorder.delivered('p2', message(1, 'm1', 'p1', 2, 2, recorder))
    expect(recorder.deliveries).toHaveLength(1)
    expect(recorder.isDelivered(1, 'p2')).toBe(true)
    expect(recorder.isDelivered(0, 'p2')).toBe(false)
    expect(recorder.missing(recorder.sent)).toBe(1)
  })

  it('flags a message id handed to the same app twice as a duplicate, not as a reordering', async () => {
    const recorder = await recorderWithSends(2)
    recorder.delivered('p2', message(0, 'm0', 'p1', 1, 1, recorder))
    recorder.delivered('p2', message(1, 'm1', 'p1', 2, 2, recorder))
    recorder.delivered('p2', message(0, 'm0', 'p1', 1, 1, recorder))
    expect(recorder.deliveries.map((d) => [d.duplicate, d.outOfOrder])).toEqual([
      [false, false],
      [false, false],
      [true, false]
    ])
  })

  it('flags a cseq going backwards per sender and conversation, and an inbox seq going backwards', async () => {
    const recorder = await recorderWithSends(3)
    recorder.delivered('p2', message(1, 'm1', 'p1', 2, 2, recorder))
    recorder.delivered('p2', message(0, 'm0', 'p1', 1, 1, recorder))
    // Another sender's conversation has its own cseq order; the inbox seq still must rise.
    recorder.delivered('p2', { id: 'm2', from: 'p3', to: 'p2', seq: 3, cseq: 1, body: recorder.body(2) })
    expect(recorder.deliveries.map((d) => d.outOfOrder)).toEqual([false, true, false])
  })

  it('records a failed send with its error and never as stored', async () => {
    const recorder = new Recorder(40, () => undefined)
    const record = recorder.launch(async () => {
      throw new Error('RATE_LIMITED')
    }, 'p1', ['p2'])
    await recorder.settled(1000)
    expect(record.storedMs).toBeUndefined()
    expect(record.error).toBe('RATE_LIMITED')
  })

  it('summarizes a clean run: all delivered, latency from the send, bytes per message from the link window', async () => {
    const recorder = await recorderWithSends(4)
    for (let i = 0; i < 4; i++) recorder.delivered('p2', message(i, `m${i}`, 'p1', i + 1, i + 1, recorder))
    const m = summarize(runOf(reportOf(recorder, { up: 800, down: 1200 })))
    expect(m).toMatchObject({ messages: 4, expected: 4, delivered: 4, deliveredPct: 100, lost: 0, unconfirmed: 0, duplicates: 0, orderViolations: 0, ok: true })
    expect(m.bytesPerMessage).toEqual({ up: 200, down: 300 })
    // 3g-good: 100 + 90 ms of delay, 200 B at 420 kbit/s up (3.8 ms), 300 B at 850 kbit/s down (2.8 ms).
    expect(m.floorMs).toBeCloseTo(190 + (200 * 8) / 420 + (300 * 8) / 850, 6)
    expect(m.latency?.count).toBe(4)
    expect(m.latency?.minMs).toBeGreaterThanOrEqual(0)
  })

  it('counts a stored message that never arrived as lost, and fails the run', async () => {
    const recorder = await recorderWithSends(3)
    recorder.delivered('p2', message(0, 'm0', 'p1', 1, 1, recorder))
    recorder.delivered('p2', message(2, 'm2', 'p1', 3, 3, recorder))
    const m = summarize(runOf(reportOf(recorder)))
    expect(m).toMatchObject({ expected: 3, delivered: 2, lost: 1, ok: false })
    expect(m.deliveredPct).toBeCloseTo(66.67, 1)
  })

  it('fails a run with a duplicate or an order violation even when everything arrived', async () => {
    const dup = await recorderWithSends(1)
    dup.delivered('p2', message(0, 'm0', 'p1', 1, 1, dup))
    dup.delivered('p2', message(0, 'm0', 'p1', 1, 1, dup))
    expect(summarize(runOf(reportOf(dup)))).toMatchObject({ delivered: 1, duplicates: 1, ok: false })

    const reordered = await recorderWithSends(2)
    reordered.delivered('p2', message(1, 'm1', 'p1', 2, 2, reordered))
    reordered.delivered('p2', message(0, 'm0', 'p1', 1, 1, reordered))
    expect(summarize(runOf(reportOf(reordered)))).toMatchObject({ delivered: 2, orderViolations: 1, ok: false })
  })

  it('takes nearest-rank percentiles', () => {
    const values = Array.from({ length: 100 }, (_, i) => i + 1)
    expect([percentile(values, 50), percentile(values, 99), percentile(values, 100), percentile([7], 50)]).toEqual([50, 99, 100, 7])
  })

  it('sizes scenarios by the link: a 2G burst is smaller than a 3G one, and flap without a schedule forces one outage', () => {
    const rural = planFor(getProfile('2g-rural'), 'burst')
    const good = planFor(getProfile('3g-good'), 'burst')
    expect(rural.messages).toBeLessThan(good.messages)
    expect(good.messages).toBe(50)
    const forced = planFor(getProfile('edge-lossy'), 'flap')
    const scheduled = planFor(getProfile('flapping'), 'flap')
    expect(forced.scenario === 'flap' && forced.outage.kind).toBe('forced')
    expect(scheduled.scenario === 'flap' && scheduled.outage.kind).toBe('schedule')
  })
})
