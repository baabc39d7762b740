import { Option, type Command } from 'commander'
import { showDefault } from '../../bin/usage.js'
import { repairStore, type RepairReport } from '../../storage/embedded/repair.js'
import { StoreOpenError } from '../../storage/embedded/index.js'
import { ConfigError } from '../config-error.js'
import { inUseMessage } from '../pid-file.js'

/**
 * `lowband repair --data-dir DIR`: the way back for a store `start` refuses as damaged. Prints what
 * was found, what LevelDB set aside, what the store now holds and what is missing; exit 0 once the
 * store opens again, 2 when it cannot be repaired here (no store, in use).
 */
export function registerRepair (program: Command): void {
  program.command('repair')
    .description('repair a damaged embedded store in place (stop the broker first; back up the directory if you can), then report what was recovered and what is missing')
    .addOption(showDefault(new Option('--data-dir <dir>', 'data directory of the store').env('LOWBAND_DATA_DIR'), './data'))
    .action(async (flags: { dataDir?: string }) => {
      const dataDir = flags.dataDir ?? './data'
      let report: RepairReport
      try {
        report = await repairStore(dataDir)
      } catch (error) {
        if (!(error instanceof StoreOpenError)) throw error
        throw new ConfigError(error.kind === 'inUse' ? await inUseMessage(dataDir) : error.message, { cause: error })
      }
      process.stdout.write(describe(dataDir, report).join('\n') + '\n')
    })
}

function describe (dataDir: string, { found, archived, levelNotes, store }: RepairReport): string[] {
  const lines = [`repaired the store in ${dataDir}`]
  if (found !== undefined) lines.push(`found: ${found.file}: ${found.cause}`)
  if (archived.length > 0) lines.push(`set aside by LevelDB in store/lost/ (what it could read of them was kept): ${archived.join(', ')}`)
  for (const note of levelNotes) lines.push(`LevelDB: ${note}`)
  lines.push(`recovered: ${store.users} users, ${store.messages} messages, ${store.inboxEntries} inbox entries, ${store.groups} groups`)
  const holes = (list: { count: number, first: Array<{ owner: string, from: number, to: number }> }): string =>
    list.first.map((h) => `${h.owner} ${h.from === h.to ? h.from : `${h.from}-${h.to}`}`).join(', ') + more(list)
  const missing = [
    store.orphanedEntries.count > 0 ? `${store.orphanedEntries.count} entries whose message is missing (${store.orphanedEntries.first.join(', ')}${more(store.orphanedEntries)})` : '',
    store.inboxGaps.count > 0 ? `${store.inboxGaps.count} gaps in inboxes (${holes(store.inboxGaps)})` : '',
    store.conversationGaps.count > 0 ? `${store.conversationGaps.count} gaps in conversations (${holes(store.conversationGaps)})` : '',
    store.unreadable.count > 0 ? `${store.unreadable.count} unreadable entries (${store.unreadable.first.join(', ')}${more(store.unreadable)})` : ''
  ].filter((part) => part !== '')
  lines.push(missing.length === 0 ? 'lost: nothing missing in the sequences (messages lost from the end of an inbox leave no trace)' : `lost: ${missing.join('; ')}`)
  return lines
}

function more (list: { count: number, first: unknown[] }): string {
  return list.count > list.first.length ? `, … ${list.count - list.first.length} more` : ''
}
