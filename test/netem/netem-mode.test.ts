import { execFileSync } from 'node:child_process'
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { measureStreams } from '../../netem/check/measure.js'
import { createLink } from '../../netem/link.js'
import { listOwnNamespaces } from '../../netem/namespaces.js'
import { run } from '../../netem/system.js'
import { skipReason } from './support.js'

/*
 * The kernel-netem path, exercised on any kernel: a stand-in `tc` first on
 * PATH accepts netem qdiscs (recording them) and passes everything else to the
 * real tc. The veth pair, addresses, neighbours, stats parsing and teardown
 * are real; only the shaping itself is not (the calibration tests cover the
 * shaping where a kernel has sch_netem).
 */

const realTc = (() => {
  try {
    return execFileSync('sh', ['-c', 'command -v tc'], { encoding: 'utf8' }).trim()
  } catch {
    return '/usr/sbin/tc'
  }
})()

const fakeTc = (log: string): string => `#!/bin/sh
echo "$*" >> ${JSON.stringify(log)}
case " $* " in
  *" -s -j qdisc show "*) echo '[{"kind":"netem","handle":"1:","root":true,"bytes":1400,"packets":10,"drops":2}]'; exit 0 ;;
  *" netem "*|*" qdisc del "*) exit 0 ;;
esac
exec ${realTc} "$@"
`

describe.skipIf(skipReason !== null)(`kernel netem mode plumbing${skipReason ? ` (skipped: ${skipReason})` : ''}`, () => {
  const savedPath = process.env.PATH
  let dir = ''
  let log = ''

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'lowband-fake-tc-'))
    log = join(dir, 'tc.log')
    writeFileSync(join(dir, 'tc'), fakeTc(log))
    chmodSync(join(dir, 'tc'), 0o755)
    writeFileSync(log, '')
    process.env.PATH = `${dir}:${savedPath ?? ''}`
  })

  afterAll(() => {
    process.env.PATH = savedPath
    rmSync(dir, { recursive: true, force: true })
  })

  it('builds a veth link with netem on each end, reads its stats and tears it down', async () => {
    const link = await createLink('edge-lossy', { mode: 'auto' })
    try {
      expect(link.mode).toBe('netem')
      expect(link.modeReason).toBe('kernel has sch_netem')
      const calls = readFileSync(log, 'utf8')
      expect(calls).toContain(`-n ${link.serverNs} qdisc add dev lbwan root netem delay 400ms loss 1% rate 240000bit -14 limit 380`)
      expect(calls).toContain(`-n ${link.clientNs} qdisc add dev lbwan root netem delay 440ms loss 1% rate 200000bit -14`)

      const plan = { ipSize: 300, count: 20, sendBps: 100_000, firstMs: 2_000, idleMs: 500 }
      const seen = await measureStreams(link, { down: plan, up: plan })
      expect([seen.down.received, seen.up.received]).toEqual([20, 20])
      const { stdout } = await run('ip', ['-n', link.serverNs, 'neigh', 'show', 'dev', 'lbwan'])
      expect(stdout).toMatch(/10\.201\.0\.2 lladdr 02:00:0a:c9:00:02 PERMANENT/)

      // tc counts Ethernet frames; the link reports IP bytes.
      expect((await link.counters()).down).toMatchObject({ packets: 10, bytes: 1400 - 14 * 10, dropped: 2 })

      await link.setLinkUp(false)
      expect(readFileSync(log, 'utf8')).toMatch(new RegExp(`-n ${link.clientNs} qdisc change dev lbwan root netem delay 440ms loss 100%`))
    } finally {
      await link.close()
    }
    expect(listOwnNamespaces()).not.toContain(link.serverNs)
    expect(listOwnNamespaces()).not.toContain(link.clientNs)
  }, 20_000)
})
