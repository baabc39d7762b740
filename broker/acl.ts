import type { Client } from 'aedes'
import type { ClientAcl, TopicAcl } from '../hooks/context.js'
import type { AclRule, AclRules } from './acl-file.js'

/** A rule resolved for one client: its filter split into levels, patterns substituted. */
type Levels = readonly string[]

/**
 * `--acl FILE`: who may publish, subscribe to and receive which topics outside the chat namespace,
 * with Mosquitto's acl_file rules. A client is governed by its username's `topic` lines (anonymous
 * clients: those before any `user` line) and by every `pattern` line; anything no rule grants is
 * denied, and a `deny` rule wins over every grant. As in Mosquitto, a client whose username or
 * client id holds `+` or `#` gets nothing when the file has patterns (it could widen a pattern).
 *
 * A SUBSCRIBE is granted when one readable rule covers its whole filter (every topic the filter
 * can match) and no deny rule does; a message is forwarded only if its topic is readable, which
 * keeps topics a deny rule carves out of a granted filter, and retained messages, from the client.
 */
export function createTopicAcl (rules: AclRules): TopicAcl {
  const resolved = new WeakMap<Client, ClientAcl>()
  return {
    of (client, username) {
      let acl = resolved.get(client)
      if (acl === undefined) {
        acl = resolve(rules, client.id, username)
        resolved.set(client, acl)
      }
      return acl
    }
  }
}

function resolve (rules: AclRules, clientId: string, username: string | undefined): ClientAcl {
  if (rules.patterns.length > 0 && (/[+#]/.test(clientId) || /[+#]/.test(username ?? ''))) return NOTHING
  const own = username === undefined ? rules.anonymous : rules.users.get(username) ?? []
  const patterns = rules.patterns
    .filter((rule) => username !== undefined || !rule.topic.includes('%u'))
    .map((rule) => ({ ...rule, topic: rule.topic.replaceAll('%c', clientId).replaceAll('%u', username ?? '') }))
  const all = [...own, ...patterns]
  const levelsOf = (grants: (rule: AclRule) => boolean): Levels[] => all.filter(grants).map((rule) => rule.topic.split('/'))
  const denied = levelsOf((rule) => rule.access === 'deny')
  const readable = levelsOf((rule) => rule.access === 'read' || rule.access === 'readwrite')
  const writable = levelsOf((rule) => rule.access === 'write' || rule.access === 'readwrite')
  const allows = (granted: Levels[], topic: string): boolean => {
    const levels = topic.split('/')
    return !denied.some((rule) => matches(rule, levels)) && granted.some((rule) => matches(rule, levels))
  }
  return {
    mayPublish: (topic) => allows(writable, topic),
    mayRead: (topic) => allows(readable, topic),
    maySubscribe (filter) {
      const levels = filter.split('/')
      return !denied.some((rule) => covers(rule, levels)) && readable.some((rule) => covers(rule, levels))
    }
  }
}

const NOTHING: ClientAcl = { mayPublish: () => false, mayRead: () => false, maySubscribe: () => false }

/** Whether the topic name matches the filter; a filter starting with a wildcard never matches a `$` topic [MQTT-4.7.2-1]. */
export function matches (filter: Levels, topic: Levels): boolean {
  if (topic[0]?.startsWith('$') === true && (filter[0] === '+' || filter[0] === '#')) return false
  for (let i = 0; i < filter.length; i++) {
    const level = filter[i]
    if (level === '#') return true // also the parent level: `a/#` matches `a`
    if (i >= topic.length) return false
    if (level !== '+' && level !== topic[i]) return false
  }
  return filter.length === topic.length
}

/** Whether every topic name `filter` matches is matched by `rule` too. */
export function covers (rule: Levels, filter: Levels): boolean {
  if (filter[0]?.startsWith('$') === true && (rule[0] === '+' || rule[0] === '#')) return false
  for (let i = 0; i < rule.length; i++) {
    const level = rule[i]
    if (level === '#') return true
    const wanted = filter[i]
    if (wanted === undefined || wanted === '#') return false
    if (level !== '+' && (wanted === '+' || level !== wanted)) return false
  }
  return rule.length === filter.length
}
