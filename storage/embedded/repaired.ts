import { readdir } from 'node:fs/promises'
import { join } from 'node:path'
import type { ClassicLevel } from 'classic-level'
import { keys } from './keys.js'

/** The files LevelDB's repair set aside in `store/lost/`; none when it never ran. */
export async function lostFiles (location: string): Promise<string[]> {
  try {
    return await readdir(join(location, 'lost'))
  } catch {
    return []
  }
}

/**
 * Whether LevelDB's repair has rebuilt the store at `location`, so that an inbox or conversation
 * may have lost its first entries and kept later ones (a hole verify.ts reports). Such a store's
 * counters are always read from the last key of their range (sequences.ts). `lowband repair`
 * marks the store; a store repaired before the mark existed still holds what the repair set
 * aside — every RepairDB moves at least the old write-ahead log and MANIFEST to `lost/`.
 */
export async function wasRepaired (db: ClassicLevel<string, Uint8Array>, location: string): Promise<boolean> {
  return db.getSync(keys.repairedMarker) !== undefined || (await lostFiles(location)).length > 0
}
