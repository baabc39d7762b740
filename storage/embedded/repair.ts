import { link, mkdir, readFile, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { ClassicLevel } from 'classic-level'
import { StoreGuard } from './guard.js'
import { inspectStore } from './preflight.js'
import { keys } from './keys.js'
import { lostFiles } from './repaired.js'
import { levelCode, levelMessage, StoreOpenError, type DamageAt } from './store-errors.js'
import { verifyStore, type StoreReport } from './verify.js'

export interface RepairReport {
  /** What the checks before opening found (a log LevelDB skips part of, a missing CURRENT, a table cut short). */
  found?: DamageAt
  /** Files LevelDB rebuilt the store without and moved to `store/lost/` (nothing is deleted). */
  archived: string[]
  /** What LevelDB's repair said of what it could not read (its LOG), e.g. "Table #5: 120 entries Corruption: …". */
  levelNotes: string[]
  /** What the repaired store holds, and the holes in it. */
  store: StoreReport
}

/**
 * `lowband repair`: LevelDB's RepairDB (classic-level's `repair`) rebuilds the store from every
 * table and log it can read, salvaging the readable blocks of a damaged table and moving what it
 * cannot use to `store/lost/`; then the store is opened as `start` opens it and every entry is
 * read (verify.ts) to report what was recovered and what is missing. Throws StoreOpenError
 * ('inUse' while a broker runs on the directory).
 */
export async function repairStore (dataDir: string): Promise<RepairReport> {
  const location = join(dataDir, 'store')
  const files = await inspectStore(location)
  if (files.fresh) throw new StoreOpenError('failed', `there is no store in ${dataDir} to repair (no ${location}/CURRENT, MANIFEST, tables or logs)`)
  const release = await holdLock(dataDir, location)
  try {
    const lostBefore = new Set(await lostFiles(location))
    try {
      await ClassicLevel.repair(location)
    } catch (error) {
      throw new StoreOpenError('failed', `repairing the store in ${dataDir} failed: ${levelMessage(error)}`, { cause: error })
    }
    const archived = (await lostFiles(location)).filter((name) => !lostBefore.has(name))
    // Read before the store is opened again: every open starts a new LOG.
    const levelNotes = await repairNotes(location)
    const guard = await StoreGuard.open({ dataDir, level: {} })
    try {
      // Its sequences may now have holes: the counters must not take a missing entry 1 for an empty one.
      await guard.db.put(keys.repairedMarker, new Uint8Array(0), { sync: true })
      return { ...(files.damage === undefined ? {} : { found: files.damage }), archived, levelNotes, store: await verifyStore(guard.db) }
    } finally {
      await guard.close()
    }
  } finally {
    await release()
  }
}

/**
 * RepairDB takes no lock, so a broker could be writing the store while it is rewritten. LevelDB
 * locks `store/LOCK` with fcntl, which locks the file (its inode), not its name: a throwaway store
 * whose LOCK is a hard link to that file takes the very same lock. Opening it fails with
 * LEVEL_LOCKED while a broker runs, and holding it open keeps any broker from starting until the
 * repair is done — without LevelDB ever opening the damaged store to find out.
 */
async function holdLock (dataDir: string, location: string): Promise<() => Promise<void>> {
  const shadow = join(dataDir, `.repair-lock-${process.pid}`)
  await rm(shadow, { recursive: true, force: true })
  await mkdir(shadow)
  await writeFile(join(location, 'LOCK'), '', { flag: 'a' })
  await link(join(location, 'LOCK'), join(shadow, 'LOCK'))
  const lock = new ClassicLevel(shadow)
  const release = async (): Promise<void> => {
    await lock.close()
    await rm(shadow, { recursive: true, force: true })
  }
  try {
    await lock.open({ createIfMissing: true })
  } catch (error) {
    await release()
    if (levelCode(error) === 'LEVEL_LOCKED') throw new StoreOpenError('inUse', `${dataDir} is in use by another process`, { cause: error })
    throw error
  }
  return release
}

/** The lines of RepairDB's info log that tell of something it could not read or had to drop. */
async function repairNotes (location: string): Promise<string[]> {
  const log = await readFile(join(location, 'LOG'), 'utf8').catch(() => '')
  return log.split('\n')
    .map((line) => line.replace(/^\S+ \S+ /, ''))
    .filter((line) => (/^(?:Table|Log) #\d+: /.test(line) && !line.endsWith(' OK')) || /ignoring error|dropping|Some data may have been lost/.test(line))
}
