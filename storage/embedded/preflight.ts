import { open, readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { findLogDamage } from './log-reader.js'
import { readManifest } from './manifest.js'
import type { DamageAt } from './store-errors.js'

/** The files LevelDB keeps a store in; anything else (LOCK, LOG, a `lost/` folder) holds no data. */
const DATA_FILE = /^(?:CURRENT|MANIFEST-\d+|\d+\.(?:log|ldb|sst))$/
/** Every LevelDB table ends in a 48-byte footer whose last 8 bytes are this magic number (table/format.h). */
const TABLE_MAGIC = Buffer.from('57fb808b247547db', 'hex')

export type StoreFiles = { fresh: true } | { fresh: false, damage?: DamageAt }

/**
 * What is in a store directory before LevelDB opens it, so that LevelDB never gets to make a choice
 * that loses data: with no data files it is fresh (LevelDB may create a store); without CURRENT it
 * is damaged, not new (LevelDB would create an empty store there and delete the old tables as
 * obsolete); a live write-ahead log LevelDB would skip part of, or a live table of another size
 * than its MANIFEST says or without its footer, is damage. Files the MANIFEST no longer counts
 * (left by a crash mid-compaction, or by a repair) are LevelDB's to delete, not damage. Cheap: live
 * logs are read whole (at most a memtable's worth), tables only for their size and last 8 bytes. A
 * table garbled in its middle is found when LevelDB reads it (the store then reports itself damaged).
 */
export async function inspectStore (location: string): Promise<StoreFiles> {
  let names: string[]
  try {
    names = (await readdir(location, { withFileTypes: true })).filter((e) => e.isFile() && DATA_FILE.test(e.name)).map((e) => e.name).sort()
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { fresh: true }
    throw error
  }
  if (names.length === 0) return { fresh: true }
  if (!names.includes('CURRENT')) {
    return { fresh: false, damage: { file: 'CURRENT', cause: `missing, though the store holds ${names.length} files (${names.slice(0, 4).join(', ')}${names.length > 4 ? ', …' : ''})` } }
  }
  const manifest = (await readFile(join(location, 'CURRENT'), 'utf8')).trim()
  const live = /^MANIFEST-\d+$/.test(manifest) && names.includes(manifest) ? readManifest(await readFile(join(location, manifest))) : undefined
  // An unreadable CURRENT or MANIFEST fails LevelDB's open, which names the damage itself.
  if (live === undefined) return { fresh: false }
  for (const name of names.filter((n) => n.endsWith('.log'))) {
    const number = Number.parseInt(name, 10)
    if (number < live.logNumber && number !== live.prevLogNumber) continue
    const damage = findLogDamage(await readFile(join(location, name)))
    if (damage !== undefined) return { fresh: false, damage: { file: name, cause: `write-ahead log record at byte ${damage.offset}: ${damage.reason} (LevelDB would skip it and the rest of its 32 KiB block)` } }
  }
  for (const [number, size] of live.tables) {
    const name = [`${pad(number)}.ldb`, `${pad(number)}.sst`].find((n) => names.includes(n))
    // A missing table fails LevelDB's open, naming it.
    if (name === undefined) continue
    const damage = await tableDamage(join(location, name), size)
    if (damage !== undefined) return { fresh: false, damage: { file: name, cause: damage } }
  }
  return { fresh: false }
}

async function tableDamage (file: string, expected: number): Promise<string | undefined> {
  const handle = await open(file, 'r')
  try {
    const { size } = await handle.stat()
    if (size !== expected) return `table of ${size} bytes where the MANIFEST says ${expected}: ${size < expected ? 'truncated' : 'overwritten'}`
    const magic = Buffer.alloc(TABLE_MAGIC.length)
    await handle.read(magic, 0, magic.length, Math.max(0, size - magic.length))
    return magic.equals(TABLE_MAGIC) ? undefined : `table of ${size} bytes without a table footer at its end: overwritten`
  } finally {
    await handle.close()
  }
}

const pad = (n: number): string => String(n).padStart(6, '0')
