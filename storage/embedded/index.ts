import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { ClassicLevel } from 'classic-level'
import type { Storage } from '../contracts.js'
import { createMessageIdGenerator } from '../message-id.js'
import { Committer } from './committer.js'
import { StoreCore } from './core.js'
import { EmbeddedDirectory } from './directory.js'
import { keys } from './keys.js'
import { EmbeddedMessageStore } from './messages.js'

/**
 * A chat store is written far more than it is read. LevelDB's defaults (a 4 MiB memtable, 2 MiB
 * tables) flush and compact so often under a steady message stream that the broker's CPU rose ~16
 * points over two minutes at a constant 2500 msg/s; with these it stays flat (`npm run bench --
 * --only soak`), for up to ~64 MiB more RSS while a full memtable is flushed beside its successor.
 */
const LEVELDB_TUNING = { writeBufferSize: 32 * 2 ** 20, maxFileSize: 8 * 2 ** 20 }

/**
 * The embedded default: LevelDB (classic-level) in `<dataDir>/store`, durable across restarts
 * (every acknowledged write is synced), needing no service.
 */
export async function openEmbeddedStorage (dataDir: string): Promise<Storage> {
  const location = join(dataDir, 'store')
  await mkdir(location, { recursive: true })
  const db = new ClassicLevel<string, Uint8Array>(location, { keyEncoding: 'utf8', valueEncoding: 'view', ...LEVELDB_TUNING })
  await db.open()
  const committer = new Committer(db)
  // Delivered watermarks are written once per window: if the last process left its marker, it
  // crashed, and what it had not written yet is recovered from resuming devices (deliveries.ts).
  const afterCrash = db.getSync(keys.openMarker) !== undefined
  await committer.write([{ type: 'put', key: keys.openMarker, value: new Uint8Array(0) }])
  const messages = new EmbeddedMessageStore(new StoreCore(db, committer), createMessageIdGenerator(), afterCrash)
  return {
    messages,
    directory: new EmbeddedDirectory(db, committer),
    flush: () => committer.flush(),
    async close () {
      try {
        await messages.flushAllDelivered(Math.floor(Date.now() / 1000))
        await committer.write([{ type: 'del', key: keys.openMarker }])
      } finally {
        await committer.flush()
        await db.close()
      }
    }
  }
}
