import { afterEach, describe, expect, it, vi } from 'vitest'
import { OutageScheduler, outageCycles, scaleSchedule, seededRandom } from '../../netem/outages.js'
import { getProfile } from '../../netem/profiles/index.js'

const schedule = getProfile('flapping').outages ?? { upS: { min: 1, max: 1 }, downS: { min: 1, max: 1 } }

function take<T>(gen: Generator<T>, n: number): T[] {
  return Array.from({ length: n }, () => gen.next().value as T)
}

describe('outage schedule', () => {
  afterEach(() => {
    vi.useRealTimers()
  })

  it('draws every period inside the schedule, the same way for the same seed', () => {
    const cycles = take(outageCycles(schedule, seededRandom(42)), 200)
    for (const c of cycles) {
      expect(c.upMs).toBeGreaterThanOrEqual(30_000)
      expect(c.upMs).toBeLessThanOrEqual(50_000)
      expect(c.downMs).toBeGreaterThanOrEqual(10_000)
      expect(c.downMs).toBeLessThanOrEqual(30_000)
    }
    expect(take(outageCycles(schedule, seededRandom(42)), 200)).toEqual(cycles)
    expect(take(outageCycles(schedule, seededRandom(43)), 200)).not.toEqual(cycles)
    // Uniform draws: the mean cycle is about a minute.
    const mean = cycles.reduce((s, c) => s + c.upMs + c.downMs, 0) / cycles.length
    expect(mean).toBeGreaterThan(57_000)
    expect(mean).toBeLessThan(63_000)
  })

  it('scales every period', () => {
    expect(scaleSchedule(schedule, 0.1)).toEqual({ upS: { min: 3, max: 5 }, downS: { min: 1, max: 3 } })
  })

  it('drives the link down and up on the drawn timetable', async () => {
    vi.useFakeTimers()
    const seen: Array<[number, boolean]> = []
    const start = Date.now()
    const scheduler = new OutageScheduler(schedule, 7, async (up) => {
      seen.push([Date.now() - start, up])
    })
    const [first, second] = take(outageCycles(schedule, seededRandom(7)), 2)
    scheduler.start()
    await vi.advanceTimersByTimeAsync(200_000)
    scheduler.stop()
    const t1 = first?.upMs ?? 0
    const t2 = t1 + (first?.downMs ?? 0)
    const t3 = t2 + (second?.upMs ?? 0)
    expect(seen.slice(0, 3)).toEqual([
      [t1, false],
      [t2, true],
      [t3, false]
    ])
    const count = seen.length
    await vi.advanceTimersByTimeAsync(200_000)
    expect(seen.length).toBe(count)
  })
})
