import { openEmbeddedStorage } from '../../storage/embedded/index.js'
import { tempDirs } from '../helpers/temp-dirs.js'
import { directoryContract, fromStorage } from './directory.contract.js'

const tempDir = tempDirs('lowband-dir-')

directoryContract('embedded (LevelDB)', async () => {
  const dir = await tempDir()
  const open = fromStorage(() => openEmbeddedStorage(dir))
  return { ...await open(), reopen: open }
})
