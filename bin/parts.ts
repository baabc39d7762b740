import type { Command } from 'commander'

/**
 * The `lowband` command: a thin entry that mounts the broker's, the chat client's and the
 * network-emulation suite's subcommands. Only the part a command belongs to is loaded, so
 * `lowband start` never loads the test rig and `lowband send` never loads broker code; help and
 * unknown commands load all three to list them.
 */
export const PARTS = {
  broker: {
    commands: ['start', 'repair', 'media'],
    load: async (program: Command) => (await import('../broker/commands/index.js')).registerBrokerCommands(program)
  },
  client: {
    commands: ['send', 'recv', 'chat', 'group', 'push', 'token'],
    load: async (program: Command) => (await import('../clients/cli/index.js')).registerClientCommands(program)
  },
  netem: {
    commands: ['netem'],
    load: async (program: Command) => (await import('../netem/cli.js')).registerNetemCommands(program)
  }
} as const


export type PartName = keyof typeof PARTS
