import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { createLink } from '../../netem/link.js'
import { SERVER_TCP_SYSCTLS } from '../../netem/server-tcp.js'
import { skipReason } from './support.js'

const sysctl = (ns: string, key: string): string => execFileSync('ip', ['netns', 'exec', ns, 'sysctl', '-n', key], { encoding: 'utf8' }).trim()

describe('the TCP settings of the emulated server', () => {
  it('are the ones README.md recommends, line for line', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8')
    const block = /### TCP settings for mobile links[\s\S]*?```\n([\s\S]*?)```/.exec(readme)?.[1]
    expect(block?.trim().split('\n')).toEqual(Object.entries(SERVER_TCP_SYSCTLS).map(([key, value]) => `${key}=${value}`))
  })

  it.skipIf(skipReason !== null)(`apply in the server namespace only${skipReason ? ` (skipped: ${skipReason})` : ''}`, async () => {
    const link = await createLink('3g-good', { name: 'server-tcp', log: () => {} })
    try {
      for (const [key, value] of Object.entries(SERVER_TCP_SYSCTLS)) {
        expect(sysctl(link.serverNs, key)).toBe(value)
        // The phone side keeps the kernel's defaults, as a phone would.
        expect(sysctl(link.clientNs, key)).not.toBe(value)
      }
    } finally {
      await link.close()
    }
  })
})
