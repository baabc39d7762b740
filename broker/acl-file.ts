import { readFile } from 'node:fs/promises'
import { ConfigError } from './config-error.js'

/** What a rule lets a client do with the topics it matches; `deny` takes precedence over any grant. */
export type Access = 'read' | 'write' | 'readwrite' | 'deny'

export interface AclRule {
  access: Access
  /** A topic filter (`+` and `#` allowed); in a pattern, `%u` and `%c` stand for the username and client id. */
  topic: string
}

/** An ACL file as read: rules for anonymous clients, per username, and patterns for everyone. */
export interface AclRules {
  /** `topic` lines before any `user` line: clients that connect without a username. */
  anonymous: AclRule[]
  /** `topic` lines after `user <name>`, by username. */
  users: Map<string, AclRule[]>
  /** `pattern` lines, wherever they are: every client. */
  patterns: AclRule[]
}

const ACCESS = new Set<string>(['read', 'write', 'readwrite', 'deny'])
const FLAG = '--acl (LOWBAND_ACL)'

/** Reads and parses the `--acl` file; any problem is a ConfigError naming the flag (and the line). */
export async function loadAclFile (path: string): Promise<AclRules> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (error) {
    throw new ConfigError(`${FLAG}: cannot read ${path}: ${(error as Error).message}`)
  }
  return parseAclFile(text, path)
}

/**
 * Mosquitto's acl_file format (mosquitto.conf(5)): `#` at the start of a line begins a comment;
 * `topic [read|write|readwrite|deny] TOPIC` grants (or denies) a topic filter, to anonymous clients
 * before the first `user <name>` line and to that user after it; `pattern [access] TOPIC` applies
 * to every client, with `%u` and `%c` replaced by its username and client id. Without an access
 * word the rule is readwrite; the topic is the rest of the line, so it may hold spaces when the
 * access is given. Unlike Mosquitto, which logs and refuses to start, a bad line here is one
 * ConfigError with its line number.
 */
export function parseAclFile (text: string, path = 'the ACL file'): AclRules {
  const rules: AclRules = { anonymous: [], users: new Map(), patterns: [] }
  let section = rules.anonymous
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = raw.trim()
    if (line === '' || line.startsWith('#')) return
    const fail = (reason: string): never => { throw new ConfigError(`${FLAG}: ${path} line ${index + 1}: ${reason}`) }
    // keyword, then one word, then whatever is left (a topic may hold spaces)
    const [, keyword = '', word, remainder] = /^(\S+)(?:\s+(\S+))?(?:\s+(.+))?$/.exec(line) ?? []
    if (keyword === 'user') {
      const name = line.slice(keyword.length).trim()
      if (name === '') fail('`user` needs a username')
      section = rules.users.get(name) ?? []
      rules.users.set(name, section)
      return
    }
    if (keyword !== 'topic' && keyword !== 'pattern') fail(`unknown keyword "${keyword}": expected topic, pattern or user`)
    if (word === undefined) fail(`\`${keyword}\` needs a topic`)
    const [access, topic] = remainder === undefined ? ['readwrite', word!] : [word!, remainder]
    if (!ACCESS.has(access)) fail(`unknown access "${access}": expected read, write, readwrite or deny (a topic with spaces needs its access first)`)
    const problem = filterProblem(topic)
    if (problem !== undefined) fail(`invalid topic "${topic}": ${problem}`)
    ;(keyword === 'pattern' ? rules.patterns : section).push({ access: access as Access, topic })
  })
  return rules
}

/** Why a topic filter is not one MQTT allows [MQTT-4.7.1-2] [MQTT-4.7.1-3], or undefined. */
export function filterProblem (filter: string): string | undefined {
  if (filter === '') return 'empty'
  const levels = filter.split('/')
  for (const [i, level] of levels.entries()) {
    if (level.includes('#') && (level !== '#' || i !== levels.length - 1)) return '# must be a whole level, and the last'
    if (level.includes('+') && level !== '+') return '+ must be a whole level'
  }
  return undefined
}
