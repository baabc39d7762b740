import { describe, expect, it } from 'vitest'
import { createMessageIdGenerator, dedupKey } from '../../storage/message-id.js'

describe('server message ids', () => {
  it('are unique within one generator while the clock stands still or steps back', () => {
    let clock = 1_800_000_000_000
    const next = createMessageIdGenerator(() => clock)
    const ids: string[] = []
    for (let i = 0; i < 10_000; i++) {
      if (i === 5000) clock -= 60_000 // an NTP step back mid-run
      ids.push(next())
    }
    expect(new Set(ids).size).toBe(ids.length)
    // Time-ordered: each id sorts after the one minted before it.
    expect(ids.every((id, i) => i === 0 || id > ids[i - 1]!)).toBe(true)
  })

  it('never collide between two nodes minting on one clock (two brokers on one PostgreSQL)', () => {
    let clock = 1_800_000_000_000
    const nodeA = createMessageIdGenerator(() => clock)
    const nodeB = createMessageIdGenerator(() => clock)
    const seen = new Set<string>()
    // Both nodes at ~3000 ids a second: three each per millisecond, 100 000 each.
    for (let i = 0; i < 100_000; i++) {
      if (i % 3 === 0) clock++
      seen.add(nodeA())
      seen.add(nodeB())
    }
    expect(seen.size).toBe(200_000)
  })

  it('keep the time they were minted at as their prefix, 15 characters long', () => {
    const id = createMessageIdGenerator(() => 1_800_000_000_123)()
    expect(id).toHaveLength(15)
    expect(Number.parseInt(id.slice(0, 8), 36)).toBe(1_800_000_000_123)
  })

  it('dedup keys are printable ASCII whatever the client message id holds, and never the same for two ids', () => {
    const ids: Array<string | number | Uint8Array> = ['plain', 'a\u0000b', '\u{1F600}'.repeat(32), '61', 'u61', 61, new Uint8Array([0x61]), 'a']
    const keys = ids.map((id) => dedupKey('mallory', 'phone', id))
    expect(keys.filter((key) => !/^[\x20-\x7e]+$/.test(key))).toEqual([])
    expect(new Set(keys).size).toBe(ids.length)
    // Plain ids keep the key they always had (resends of messages stored before still match).
    expect(dedupKey('mallory', 'phone', 'plain')).toBe('mallory/phone/splain')
  })
})
