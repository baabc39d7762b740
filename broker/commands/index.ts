import type { Command } from 'commander'
import { registerStart } from './start.js'

/** The broker's own commands (`start`), mounted by the `lowband` entry (bin/lowband.ts). */
export function registerBrokerCommands (program: Command): void {
  registerStart(program)
}
