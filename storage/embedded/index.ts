import type { Storage, StorageHealth } from '../contracts.js'
import { createMessageIdGenerator } from '../message-id.js'
import { Committer } from './committer.js'
import { StoreCore } from './core.js'
import { EmbeddedDirectory } from './directory.js'
import { guarded } from '../guarded.js'
import { StoreGuard } from './guard.js'
import { keys } from './keys.js'
import { EmbeddedMessageStore } from './messages.js'
import { wasRepaired } from './repaired.js'

export { StoreOpenError } from './store-errors.js'

/**
 * A chat store is written far more than it is read. LevelDB's defaults (a 4 MiB memtable, 2 MiB
 * tables) flush and compact so often under a steady message stream that the broker's CPU rose ~16
 * points over two minutes at a constant 2500 msg/s; with these it stays flat (`npm run bench --
 * --only soak`), for up to ~64 MiB more RSS while a full memtable is flushed beside its successor.
 */
const LEVELDB_TUNING = { writeBufferSize: 32 * 2 ** 20, maxFileSize: 8 * 2 ** 20 }

/**
 * File descriptors LevelDB may hold (tables in its table cache, plus ten for the log, manifest and
 * info log), fixed so that a flood of connections can never starve the store of descriptors
 * ("too many open files" fails writes). classic-level's default is 1000. 256 keeps 246 tables of
 * up to 8 MiB (~2 GiB of recent tables) open; reads of older ones reopen their file. The connection
 * cap reserves room for it below the open-files limit.
 */
export const LEVELDB_MAX_OPEN_FILES = 256

export interface EmbeddedStorageOptions {
  /** Told whenever the store's health changes (suspect, reopened, damaged). */
  onHealth?: (health: StorageHealth) => void
  /** First and longest wait between reopen attempts after a failed write, ms. */
  reopenDelayMs?: { first: number, max: number }
}

/**
 * The embedded default: LevelDB (classic-level) in `<dataDir>/store`, durable across restarts
 * (every acknowledged write is synced), needing no service. Throws StoreOpenError, one line, when
 * the store cannot be opened as it is: it is never replaced by a new one (guard.ts).
 */
export async function openEmbeddedStorage (dataDir: string, options: EmbeddedStorageOptions = {}): Promise<Storage> {
  const guard = await StoreGuard.open({ dataDir, level: { ...LEVELDB_TUNING, maxOpenFiles: LEVELDB_MAX_OPEN_FILES }, ...options })
  const committer = new Committer(guard.db, guard)
  const directory = new EmbeddedDirectory(guard.db, committer)
  // Delivered watermarks are written once per window: if the last process left its marker, it
  // crashed, and what it had not written yet is recovered from resuming devices (deliveries.ts).
  let afterCrash: boolean
  let repaired: boolean
  try {
    afterCrash = guard.db.getSync(keys.openMarker) !== undefined
    repaired = await wasRepaired(guard.db, guard.location)
    await committer.write([{ type: 'put', key: keys.openMarker, value: new Uint8Array(0) }])
  } catch (error) {
    throw await guard.failedOpen(error)
  }
  const core = new StoreCore(guard.db, committer, repaired)
  const messages = new EmbeddedMessageStore(core, committer, createMessageIdGenerator(), afterCrash)
  guard.onReopened(() => {
    core.forgetCached()
    directory.forgetCached()
    messages.forgetCached()
  })
  const classify = (error: unknown): unknown => guard.classify(error)
  return {
    messages: guarded(messages, classify),
    directory: guarded(directory, classify),
    flush: () => committer.flush(),
    health: () => guard.health(),
    async close () {
      try {
        await messages.flushAllDelivered(Math.floor(Date.now() / 1000))
        await messages.flushDeviceCursors()
        await committer.write([{ type: 'del', key: keys.openMarker }])
      } catch {
        // A suspect or damaged store takes no writes: the marker stays, so the next open counts
        // this as a crash and recovers the unwritten delivered state from resuming devices.
      } finally {
        await committer.flush()
        await guard.close()
      }
    }
  }
}
