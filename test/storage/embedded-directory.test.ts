import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { openEmbeddedStorage } from '../../storage/embedded/index.js'
import { directoryContract, fromStorage } from './directory.contract.js'

directoryContract('embedded (LevelDB)', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'lowband-dir-'))
  const open = fromStorage(() => openEmbeddedStorage(dir))
  return { ...await open(), reopen: open }
})
