#!/usr/bin/env node
/**
 * Stand-alone entry for the netem tools, for when the broker CLI is not built
 * (netem/lowband-netem.sh builds just netem/ and runs this):
 *   node dist/netem/main.js netem check --profile 3g-good
 * It mounts the same commands as `lowband netem`.
 */
import { Command } from 'commander'
import { registerNetemCommands } from './cli.js'

const program = new Command('lowband').description('lowband network emulation tools')
registerNetemCommands(program)
await program.parseAsync(process.argv)
