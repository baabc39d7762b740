import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { getProfile } from '../../netem/profiles/index.js'
import type { Profile } from '../../netem/profiles/schema.js'
import { summarize } from '../../netem/run/metrics.js'
import { planFor } from '../../netem/run/plan.js'
import { runScenario, type ScenarioRun } from '../../netem/run/runner.js'
import type { ScenarioName, ScenarioPlan } from '../../netem/run/types.js'
import { eventually, namespacesOf, processesMentioning, skipReason } from './support.js'

/*
 * Chat over emulated mobile links, end to end: the real broker process in the
 * server namespace, SDK phones in the client namespace, and the link between
 * them. Two profiles (a clean 3G link and a lossy EDGE one) × a 1:1 burst and
 * sending through an outage. Needs the project built (npm test builds first).
 */

const CLI = fileURLToPath(new URL('../../dist/bin/lowband.js', import.meta.url))

function runDirs(): string[] {
  return readdirSync(tmpdir()).filter((name) => name.startsWith('lowband-netem-'))
}

/**
 * How much longer than its profile the emulated link's round trip measures on 3g-good
 * (docs/netem/CALIBRATION.md: 190 → 191.4 ms, the probe's own serialisation included).
 */
const LINK_CALIBRATION_MS = 2

const CASES: Array<[string, ScenarioName, number]> = [
  ['3g-good', 'burst', 30_000],
  ['edge-lossy', 'burst', 40_000],
  ['edge-lossy', 'flap', 50_000]
]

/** What every run must show: each message delivered once and in order, its bytes counted, the outage (flap only) real. */
function expectDeliveredOnceInOrder(profile: Profile, run: ScenarioRun): void {
  const scenario = run.plan.scenario
  const m = summarize(run)
  expect(m.expected).toBeGreaterThanOrEqual(scenario === 'burst' ? 50 : 40)
  expect({ deliveredPct: m.deliveredPct, unconfirmed: m.unconfirmed, lost: m.lost, duplicates: m.duplicates, orderViolations: m.orderViolations }).toEqual({
    deliveredPct: 100,
    unconfirmed: 0,
    lost: 0,
    duplicates: 0,
    orderViolations: 0
  })
  // Bytes are counted at the link, so they include at least each message's MQTT packets
  // (docs/PROTOCOL.md, "Bytes on the wire", with a 40-character body): up its PUBLISH and the
  // recipient's PUBACK (body + 25), down the ✓, its PUBACK and the delivery (body + 54). TCP/IP
  // headers come on top, shared by the messages of a segment (a burst's sends and deliveries
  // leave many to a segment), so they set no per-message bound.
  expect(m.bytesPerMessage?.up).toBeGreaterThan(40 + 25)
  expect(m.bytesPerMessage?.down).toBeGreaterThan(40 + 54)
  // Nothing crosses faster than the profile's delays.
  expect(m.latency?.minMs).toBeGreaterThanOrEqual(profile.up.delayMs + profile.down.delayMs)
  // Only the flap has an outage, and it really hit traffic: messages were sent while the link was down.
  const flap = scenario === 'flap'
  expect(run.outages.map((o) => o.state)).toEqual(flap ? ['down', 'up'] : [])
  const [down, up] = run.outages
  expect(run.report.sent.some((s) => s.sentMs > (down?.atMs ?? Infinity) && s.sentMs < (up?.atMs ?? -Infinity))).toBe(flap)
}

describe.skipIf(skipReason !== null)(`chat scenarios over emulated links${skipReason ? ` (skipped: ${skipReason})` : ''}`, () => {
  let dirsBefore: string[] = []
  beforeAll(() => {
    dirsBefore = runDirs()
  })

  afterAll(() => {
    // Whatever happened, no link, broker or data directory of ours survives the file.
    expect(namespacesOf(process.pid)).toEqual([])
    expect(runDirs().filter((d) => !dirsBefore.includes(d))).toEqual([])
  })

  for (const [profileId, scenario, timeout] of CASES) {
    it(`${profileId} × ${scenario}: every message reaches the app once, in order`, async () => {
      const profile = getProfile(profileId)
      expectDeliveredOnceInOrder(profile, await runScenario(profile, planFor(profile, scenario), { seed: 7 }))
    }, timeout)
  }

  it('3g-good × flap: told that the network is back, the phones have the outage\'s messages about one round trip later', async () => {
    const profile = getProfile('3g-good')
    const run = await runScenario(profile, planFor(profile, 'flap'), { seed: 7 })
    expectDeliveredOnceInOrder(profile, run)
    // Both phones reconnect at once, and the sender's unconfirmed messages ride its SYN: the
    // outage's messages arrive about one round trip after the return (the goal: 1.5 + their
    // drain), where the old sockets' retransmission backoff held them ~10 round trips. The median,
    // since what a SYN cannot hold waits for the handshake.
    const [down, up] = run.outages
    const sentAt = new Map(run.report.sent.map((s) => [s.index, s.sentMs]))
    const afterReturn = run.report.deliveries
      .filter((d) => sentAt.get(d.index)! > down!.atMs && sentAt.get(d.index)! < up!.atMs)
      .map((d) => d.atMs - up!.atMs)
      .sort((a, b) => a - b)
    expect(afterReturn.length).toBeGreaterThan(10)
    expect(afterReturn[Math.floor(afterReturn.length / 2)]).toBeLessThan(2 * (profile.up.delayMs + profile.down.delayMs))
  }, 45_000)

  // A latency bound (the issue asks for it here), measured through the user-space link emulator on
  // a machine the whole suite shares: one late scheduling of the emulator or the broker costs tens
  // of ms (a clean-clone run once measured 441.6 against 429.9 ms; the file alone passes). So one
  // retry: a resume that misses twice fails.
  it('3g-good × resume: a reconnecting phone has its backlog within the drain floor + 1 round trip, and with TCP Fast Open half a round trip sooner', { retry: 1, timeout: 40_000 }, async () => {
    const profile = getProfile('3g-good')
    const run = await runScenario(profile, planFor(profile, 'resume'), { seed: 7 })
    const m = summarize(run)
    expect(m.ok).toBe(true)
    const backlog = m.phases.offline
    // Counted from the reconnect: the replay follows the CONNACK unasked (no request round trip)
    // and leaves in one write; the goal allows the TCP handshake's round trip on top of the drain.
    const roundTripMs = profile.up.delayMs + profile.down.delayMs
    expect(backlog?.count).toBe(run.plan.messages - Math.floor(run.plan.messages / 2))
    expect(backlog!.maxMs).toBeLessThanOrEqual(m.drainFloorMs! + roundTripMs + 2 * LINK_CALIBRATION_MS)
    // With TCP Fast Open the CONNECT rides the SYN (the phone holds a cookie from its first
    // connection): no round trip for the handshake, so the backlog is in half a round trip below
    // that bound at least. Without it the handshake alone takes the whole round trip.
    expect(backlog!.maxMs).toBeLessThan(m.drainFloorMs! + roundTripMs / 2)
  })

  it('tears the link, the broker and its data down when the scenario fails', async () => {
    const profile = getProfile('3g-good')
    // A group of one cannot be run: the phone process reports the failure.
    const broken: ScenarioPlan = { ...planFor(profile, 'group'), scenario: 'group', members: 1 }
    await expect(runScenario(profile, broken)).rejects.toThrow(/group needs at least two phones/)
    expect(namespacesOf(process.pid)).toEqual([])
    expect(runDirs().filter((d) => !dirsBefore.includes(d))).toEqual([])
  }, 20_000)

  it('leaves no phone or broker process behind when `lowband netem run` is killed (SIGKILL) mid-scenario', async () => {
    const child = spawn(process.execPath, [CLI, 'netem', 'run', '--profile', '3g-good', '--scenario', 'flap'], { stdio: ['ignore', 'pipe', 'pipe'] })
    const exited = once(child, 'exit')
    const pid = child.pid ?? -1
    expect(await eventually(() => namespacesOf(pid).length === 2 && processesMentioning('phones/main.js', pid).length > 0, 15_000)).toBe(true)
    const phones = processesMentioning('phones/main.js', pid)
    const brokers = processesMentioning('lowband-netem-', pid)
    expect(brokers.length).toBeGreaterThan(0)
    child.kill('SIGKILL')
    await exited
    // No handler runs on SIGKILL: the phones see their pipe to the runner close, the broker gets
    // its parent-death signal, linkemu removes the namespaces.
    expect(await eventually(() => phones.every((p) => !processesMentioning('phones/main.js').includes(p)), 5_000)).toBe(true)
    expect(await eventually(() => brokers.every((b) => !processesMentioning('lowband-netem-').includes(b)), 5_000)).toBe(true)
    expect(await eventually(() => namespacesOf(pid).length === 0, 5_000)).toBe(true)
    // Only the broker's data directory stays (nobody is left to remove it): the test does.
    for (const dir of runDirs().filter((d) => !dirsBefore.includes(d))) rmSync(join(tmpdir(), dir), { recursive: true, force: true })
  }, 30_000)

  it('tears everything down when `lowband netem run` gets Ctrl-C mid-scenario', async () => {
    const child = spawn(process.execPath, [CLI, 'netem', 'run', '--profile', '3g-good', '--scenario', 'flap'], { stdio: ['ignore', 'pipe', 'pipe'] })
    const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>
    let stderr = ''
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString()
    })
    const pid = child.pid ?? -1
    // Wait until the broker runs inside the link and the scenario is under way (this run's, not
    // the media test's that may run beside it).
    expect(await eventually(() => namespacesOf(pid).length === 2 && processesMentioning('phones/main.js', pid).length > 0, 15_000)).toBe(true)
    const brokers = processesMentioning('lowband-netem-', pid)
    expect(brokers.length).toBeGreaterThan(0)
    const phones = processesMentioning('phones/main.js', pid)
    child.kill('SIGINT')
    const [code, signal] = await exited
    expect(signal ?? code).toBe('SIGINT')
    expect(namespacesOf(pid)).toEqual([])
    expect(await eventually(() => brokers.every((b) => !processesMentioning('lowband-netem-').includes(b)), 3_000)).toBe(true)
    expect(await eventually(() => phones.every((p) => !processesMentioning('phones/main.js').includes(p)), 3_000)).toBe(true)
    expect(runDirs().filter((d) => !dirsBefore.includes(d))).toEqual([])
    expect(stderr).not.toMatch(/Error|at /)
  }, 30_000)
})
