import { open, readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { DamageAt } from './store-errors.js'
import { findLogDamage } from './wal-check.js'

/** The files LevelDB keeps a store in; anything else (LOCK, LOG, a `lost/` folder) holds no data. */
const DATA_FILE = /^(?:CURRENT|MANIFEST-\d+|\d+\.(?:log|ldb|sst))$/
const TABLE_FILE = /^\d+\.(?:ldb|sst)$/
/** Every LevelDB table ends in a 48-byte footer whose last 8 bytes are this magic number (table/format.h). */
const FOOTER_BYTES = 48
const TABLE_MAGIC = Buffer.from('57fb808b247547db', 'hex')

export type StoreFiles = { fresh: true } | { fresh: false, damage?: DamageAt }

/**
 * What is in a store directory before LevelDB opens it, so that LevelDB never gets to make a choice
 * that loses data: with no data files it is fresh (LevelDB may create a store); without CURRENT it
 * is damaged, not new (LevelDB would create an empty store there and delete the old tables as
 * obsolete); a log LevelDB would skip part of, or a table cut short, is damage. Cheap: logs are
 * read whole (at most a memtable's worth), tables only for their last 8 bytes. A table garbled in
 * its middle is found when LevelDB reads it (the store then reports itself damaged).
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
  for (const name of names) {
    const damage = name.endsWith('.log') ? await logDamage(join(location, name)) : TABLE_FILE.test(name) ? await tableDamage(join(location, name)) : undefined
    if (damage !== undefined) return { fresh: false, damage: { file: name, cause: damage } }
  }
  return { fresh: false }
}

async function logDamage (file: string): Promise<string | undefined> {
  const damage = findLogDamage(await readFile(file))
  return damage === undefined ? undefined : `write-ahead log record at byte ${damage.offset}: ${damage.reason} (LevelDB would skip it and the rest of its 32 KiB block)`
}

async function tableDamage (file: string): Promise<string | undefined> {
  const handle = await open(file, 'r')
  try {
    const { size } = await handle.stat()
    if (size < FOOTER_BYTES) return `table of ${size} bytes, shorter than a table's footer: truncated`
    const magic = Buffer.alloc(TABLE_MAGIC.length)
    await handle.read(magic, 0, magic.length, size - magic.length)
    return magic.equals(TABLE_MAGIC) ? undefined : `table of ${size} bytes without a table footer at its end: truncated or overwritten`
  } finally {
    await handle.close()
  }
}
