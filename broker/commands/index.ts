import type { Command } from 'commander'
import { registerMedia } from './media.js'
import { registerStart } from './start.js'

/** The broker's own commands (`start`, `media sweep`), mounted by the `lowband` entry (bin/lowband.ts). */
export function registerBrokerCommands (program: Command): void {
  registerStart(program)
  registerMedia(program)
}
