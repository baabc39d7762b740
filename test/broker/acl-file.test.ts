import type { Client } from 'aedes'
import { describe, expect, it } from 'vitest'
import { covers, createTopicAcl, matches } from '../../broker/acl.js'
import { parseAclFile } from '../../broker/acl-file.js'
import { ConfigError } from '../../broker/config-error.js'

const client = (id: string): Client => ({ id }) as unknown as Client
const split = (filter: string): string[] => filter.split('/')

describe('ACL file (Mosquitto acl_file format)', () => {
  it('reads anonymous rules, user sections and patterns, readwrite by default, topics with spaces', () => {
    const rules = parseAclFile([
      '# comment',
      'topic read public/#',
      '',
      'topic weather',
      'pattern write devices/%c/state',
      'user alice',
      'topic readwrite alice/my room/#',
      'topic deny alice/secret',
      'user bob smith',
      'topic bob/#   ',
      'user alice',
      'topic alice/more'
    ].join('\n'))
    expect(rules.anonymous).toEqual([{ access: 'read', topic: 'public/#' }, { access: 'readwrite', topic: 'weather' }])
    expect(rules.users.get('alice')).toEqual([
      { access: 'readwrite', topic: 'alice/my room/#' }, { access: 'deny', topic: 'alice/secret' }, { access: 'readwrite', topic: 'alice/more' }
    ])
    expect(rules.users.get('bob smith')).toEqual([{ access: 'readwrite', topic: 'bob/#' }])
    expect(rules.patterns).toEqual([{ access: 'write', topic: 'devices/%c/state' }])
  })

  it('refuses a malformed file with one error naming --acl and the line', () => {
    for (const [text, line, reason] of [
      ['topic read a\nsubscribe a/b', 2, 'unknown keyword "subscribe"'],
      ['topic rw a/b', 1, 'unknown access "rw"'],
      ['\n\nuser', 3, '`user` needs a username'],
      ['topic', 1, '`topic` needs a topic'],
      ['pattern read a/#/b', 1, 'invalid topic "a/#/b"'],
      ['topic read a/b+', 1, 'invalid topic "a/b+"']
    ] as Array<[string, number, string]>) {
      const parse = (): unknown => parseAclFile(text, '/etc/lowband.acl')
      expect(parse, text).toThrow(ConfigError)
      expect(parse, text).toThrow(`--acl (LOWBAND_ACL): /etc/lowband.acl line ${line}: ${reason}`)
    }
  })

  it('matches topic names to filters as MQTT does, never a $ topic to a leading wildcard', () => {
    const cases: Array<[string, string, boolean]> = [
      ['a/+/c', 'a/b/c', true], ['a/+/c', 'a/b/d', false], ['a/+', 'a', false], ['a/#', 'a', true],
      ['a/#', 'a/b/c', true], ['#', 'anything/at/all', true], ['#', '$SYS/x', false], ['+/x', '$a/x', false],
      ['$SYS/#', '$SYS/x', true], ['a/b', 'a/b/c', false]
    ]
    for (const [filter, topic, expected] of cases) expect(matches(split(filter), split(topic)), `${filter} ~ ${topic}`).toBe(expected)
  })

  it('says a rule covers a subscription filter only when it matches every topic the filter can', () => {
    const cases: Array<[string, string, boolean]> = [
      ['a/#', 'a/#', true], ['a/#', 'a/+/c', true], ['a/#', 'a', true], ['#', '#', true], ['+/+', 'a/+', true],
      ['a/+', 'a/#', false], ['a/+', 'a/b/c', false], ['a/b', 'a/+', false], ['a', 'a/#', false],
      ['sensors/#', '#', false], ['#', '$SYS/#', false], ['$SYS/#', '$SYS/broker/+', true]
    ]
    for (const [rule, filter, expected] of cases) expect(covers(split(rule), split(filter)), `${rule} ⊇ ${filter}`).toBe(expected)
  })

  it('governs anonymous clients by the lines before any user, users by their section, everyone by patterns', () => {
    const acl = createTopicAcl(parseAclFile([
      'topic read public/#',
      'pattern readwrite devices/%c/#',
      'pattern read users/%u/inbox',
      'user alice',
      'topic write alice/out'
    ].join('\n')))
    const anonymous = acl.of(client('sensor-1'), undefined)
    expect(anonymous.maySubscribe('public/#')).toBe(true)
    expect(anonymous.mayPublish('public/news')).toBe(false)
    expect(anonymous.mayPublish('devices/sensor-1/temp')).toBe(true)
    expect(anonymous.mayPublish('devices/sensor-2/temp')).toBe(false)
    expect(anonymous.mayRead('users//inbox')).toBe(false) // %u patterns skip clients without a username

    const alice = acl.of(client('alice/phone'), 'alice')
    expect(alice.maySubscribe('public/#')).toBe(false) // the anonymous section is not hers
    expect(alice.mayPublish('alice/out')).toBe(true)
    expect(alice.mayRead('alice/out')).toBe(false)
    expect(alice.maySubscribe('users/alice/inbox')).toBe(true)
    expect(alice.maySubscribe('users/bob/inbox')).toBe(false)
    expect(alice.maySubscribe('devices/alice/phone/#')).toBe(true) // %c is the whole client id
  })

  it('lets a deny rule win over any grant, in subscriptions and per message', () => {
    const acl = createTopicAcl(parseAclFile('topic read sensors/#\ntopic deny sensors/secret\ntopic deny sensors/vault/#'))
    const anonymous = acl.of(client('c1'), undefined)
    expect(anonymous.maySubscribe('sensors/#')).toBe(true) // partly denied: granted, filtered per message
    expect(anonymous.mayRead('sensors/temp')).toBe(true)
    expect(anonymous.mayRead('sensors/secret')).toBe(false)
    expect(anonymous.maySubscribe('sensors/vault/+')).toBe(false) // wholly denied
    expect(anonymous.maySubscribe('#')).toBe(false) // not wholly readable
  })

  it('gives nothing to a client whose id or username holds + or # when there are patterns, as Mosquitto', () => {
    const acl = createTopicAcl(parseAclFile('topic read public/#\npattern readwrite devices/%c/#'))
    expect(acl.of(client('evil/#'), undefined).maySubscribe('public/#')).toBe(false)
    expect(acl.of(client('evil/+'), undefined).mayPublish('devices/evil/+/x')).toBe(false)
    expect(acl.of(client('fine'), undefined).maySubscribe('public/#')).toBe(true)
  })
})
