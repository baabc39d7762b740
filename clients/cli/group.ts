import type { Command } from 'commander'
import { isValidId } from '../../protocol/ids.js'
import type { GroupInfo, LowbandClient } from '../sdk/index.js'
import { addConnectionOptions, createClient, resolveConnection, type ConnectionFlags } from './connection-options.js'
import { UsageError } from './errors.js'
import { groupLine } from './format.js'
import type { CliIo } from './io.js'
import { runCommand } from './run.js'
import { seconds } from './send.js'

interface GroupFlags extends ConnectionFlags {
  json?: boolean
  timeout: string
  member?: string[]
}

/** One subcommand: its arguments, the user ids among them (checked before connecting), and its request. */
interface Operation {
  readonly name: string
  readonly args: string
  readonly description: string
  readonly users?: (args: string[], flags: GroupFlags) => string[]
  readonly run: (client: LowbandClient, args: string[], flags: GroupFlags) => Promise<GroupInfo | GroupInfo[] | undefined>
}

const second = (args: string[]): string[] => [args[1]!]

const OPERATIONS: readonly Operation[] = [
  { name: 'create', args: '<name>', description: 'create a group with you as its admin (prints it, with its id)', users: (_args, f) => f.member ?? [], run: (c, [name], f) => c.createGroup(name!, f.member ?? []) },
  { name: 'add', args: '<group> <users...>', description: 'add members (admins only)', users: (args) => args.slice(1), run: (c, [group, ...users]) => c.addMembers(group!, users) },
  { name: 'remove', args: '<group> <user>', description: 'remove a member (admins only)', users: second, run: (c, [group, user]) => c.removeMember(group!, user!) },
  { name: 'promote', args: '<group> <user>', description: 'make a member an admin (admins only)', users: second, run: (c, [group, user]) => c.promote(group!, user!) },
  { name: 'demote', args: '<group> <user>', description: 'take admin away from a member (admins only; one admin remains)', users: second, run: (c, [group, user]) => c.demote(group!, user!) },
  { name: 'rename', args: '<group> <name>', description: 'rename the group (any member)', run: (c, [group, name]) => c.rename(group!, name!) },
  { name: 'leave', args: '<group>', description: 'leave the group (prints nothing)', run: async (c, [group]) => { await c.leave(group!); return undefined } },
  { name: 'info', args: '<group>', description: 'show the group', run: (c, [group]) => c.groupInfo(group!) },
  { name: 'list', args: '', description: 'list your groups, one per line', run: (c) => c.listGroups() }
]

/**
 * `lowband group create | add | remove | promote | demote | rename | leave | info | list`: group
 * administration over request/response. Each run is a send-only device: it reads no inbox, so it
 * marks nothing delivered.
 */
export function registerGroup (program: Command, io: CliIo): Command {
  const group = program.command('group').description('create and manage groups')
  for (const operation of OPERATIONS) {
    const command = group.command(`${operation.name}${operation.args === '' ? '' : ` ${operation.args}`}`)
      .description(operation.description)
      .option('--json', 'print groups as JSON, one per line')
      .option('--timeout <seconds>', 'how long to wait for each attempt of the answer', '10')
    if (operation.name === 'create') command.option('--member <users...>', 'first members besides you (repeatable)')
    addConnectionOptions(command).action(runCommand(io, command, async (...params: unknown[]) => {
      // commander passes the positional arguments (a variadic one as an array), then the flags.
      const flags = params[command.registeredArguments.length] as GroupFlags
      const args = params.slice(0, command.registeredArguments.length).flatMap((value) => value as string | string[])
      const timeoutMs = seconds('--timeout', flags.timeout) * 1000
      if (timeoutMs <= 0) throw new UsageError('--timeout must be more than 0')
      if (operation.name !== 'create' && operation.name !== 'list') checkId('group', args[0]!)
      for (const user of operation.users?.(args, flags) ?? []) checkId('user', user)
      const connection = await resolveConnection(flags, io, 'send')
      const client = createClient(connection, { sendOnly: true, requestTimeoutMs: timeoutMs })
      try {
        await client.connect()
        const result = await operation.run(client, args, flags)
        for (const info of result === undefined ? [] : Array.isArray(result) ? result : [result]) await io.writeOut(groupLine(info, flags.json === true))
      } finally {
        await client.close()
      }
    }))
  }
  return group
}

function checkId (what: string, value: string): void {
  if (!isValidId(value)) throw new UsageError(`invalid ${what} ${JSON.stringify(value)}: 1-64 of A-Z a-z 0-9 _ . @ -`)
}
