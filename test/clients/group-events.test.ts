import { describe, expect, it } from 'vitest'
import { SystemEvent } from '../../protocol/envelopes.js'
import { decodeSystemNotice } from '../../clients/sdk/group-events.js'

const text = (event: SystemEvent, self = 'zoe') => decodeSystemNotice(SystemEvent.encode(event), self, event.actor)?.text

describe('group system notices', () => {
  it.each([
    [{ event: 1, actor: 'alice', name: 'Hikers', targets: ['bob'] }, 'alice created the group "Hikers"'],
    [{ event: 2, actor: 'alice', targets: ['bob', 'carol', 'dave'] }, 'alice added bob, carol and dave'],
    [{ event: 2, actor: 'alice', targets: ['bob', 'zoe'] }, 'alice added bob and you'],
    [{ event: 3, actor: 'zoe', targets: ['bob'] }, 'you removed bob'],
    [{ event: 4, actor: 'bob' }, 'bob left'],
    [{ event: 5, actor: 'bob', targets: ['alice'] }, 'bob made alice an admin'],
    [{ event: 5, actor: 'bob', targets: ['alice', 'carol'] }, 'bob made alice and carol admins'],
    [{ event: 6, actor: 'bob', targets: ['alice'] }, 'bob removed alice as admin'],
    [{ event: 7, actor: 'carol', name: 'Hikers 2026' }, 'carol renamed the group to "Hikers 2026"']
  ])('%j reads "%s"', (event, line) => {
    expect(text(event)).toBe(line)
  })

  it('decodes the event with its parts, and nothing from a body that is not a SystemEvent', () => {
    expect(decodeSystemNotice(SystemEvent.encode({ event: 2, actor: 'alice', targets: ['bob'] }), 'bob', 'alice')).toEqual({ event: 'added', actor: 'alice', targets: ['bob'], text: 'alice added you' })
    expect(decodeSystemNotice('a text body', 'bob', 'alice')).toBeUndefined()
    expect(decodeSystemNotice(new Uint8Array([0xff]), 'bob', 'alice')).toBeUndefined()
  })

  it('believes no event whose actor is not who the broker stamped as its sender', () => {
    expect(decodeSystemNotice(SystemEvent.encode({ event: 2, actor: 'bob', targets: ['mallory'] }), 'zoe', 'carol')).toBeUndefined()
  })
})
