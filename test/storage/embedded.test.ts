import { openEmbeddedStorage } from '../../storage/embedded/index.js'
import { tempDirs } from '../helpers/temp-dirs.js'
import { messageStoreContract } from './message-store.contract.js'

const tempDir = tempDirs('lowband-store-')

messageStoreContract('embedded (LevelDB)', async () => {
  const dir = await tempDir()
  return { storage: await openEmbeddedStorage(dir), reopen: () => openEmbeddedStorage(dir) }
})
