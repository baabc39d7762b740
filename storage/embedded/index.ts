import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { ClassicLevel } from 'classic-level'
import type { Storage } from '../contracts.js'
import { createMessageIdGenerator } from '../message-id.js'
import { Committer } from './committer.js'
import { StoreCore } from './core.js'
import { EmbeddedDirectory } from './directory.js'
import { EmbeddedMessageStore } from './messages.js'

/**
 * The embedded default: LevelDB (classic-level) in `<dataDir>/store`, durable across restarts
 * (every acknowledged write is synced), needing no service.
 */
export async function openEmbeddedStorage (dataDir: string): Promise<Storage> {
  const location = join(dataDir, 'store')
  await mkdir(location, { recursive: true })
  const db = new ClassicLevel<string, Uint8Array>(location, { keyEncoding: 'utf8', valueEncoding: 'view' })
  await db.open()
  const committer = new Committer(db)
  return {
    messages: new EmbeddedMessageStore(new StoreCore(db, committer), createMessageIdGenerator()),
    directory: new EmbeddedDirectory(db, committer),
    flush: () => committer.flush(),
    async close () {
      await committer.flush()
      await db.close()
    }
  }
}
