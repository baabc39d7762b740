import type { Command } from 'commander'
import { registerMedia } from './media.js'
import { registerRepair } from './repair.js'
import { registerStart } from './start.js'

/** The broker's own commands (`start`, `repair`, `media sweep`), mounted by the `lowband` entry (bin/lowband.ts). */
export function registerBrokerCommands (program: Command): void {
  registerStart(program)
  registerRepair(program)
  registerMedia(program)
}
