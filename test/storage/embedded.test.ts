import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { openEmbeddedStorage } from '../../storage/embedded/index.js'
import { messageStoreContract } from './message-store.contract.js'

messageStoreContract('embedded (LevelDB)', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'lowband-store-'))
  return { storage: await openEmbeddedStorage(dir), reopen: () => openEmbeddedStorage(dir) }
})
