import { ClassicLevel } from 'classic-level'
import { expect, it, vi } from 'vitest'
import { openEmbeddedStorage } from '../../storage/embedded/index.js'
import { tempDirs } from '../helpers/temp-dirs.js'
import { messageStoreContract } from './message-store.contract.js'

const tempDir = tempDirs('lowband-store-')

messageStoreContract('embedded (LevelDB)', async () => {
  const dir = await tempDir()
  return { storage: await openEmbeddedStorage(dir), reopen: () => openEmbeddedStorage(dir) }
})

it('marks a message just stored in a conversation in use as delivered from memory, without reading LevelDB', async () => {
  const storage = await openEmbeddedStorage(await tempDir())
  try {
    const send = (clientMsgId: string) => storage.messages.appendDirect({ from: 'alice', fromDevice: 'phone', to: 'bob', body: 'hi', kind: 0, ts: 1_700_000_000, clientMsgId })
    await storage.messages.markDelivered('bob', (await send('c1')).recipientSeq, 1_700_000_001) // reads bob's watermark once
    const stored = await send('c2')
    const reads = vi.spyOn(ClassicLevel.prototype as unknown as { _getSync: () => unknown }, '_getSync')
    try {
      const receipts = await storage.messages.markDelivered('bob', stored.recipientSeq, 1_700_000_001)
      expect(receipts).toMatchObject([{ owner: 'alice', receipt: { peer: 'bob', status: 1, cseq: 2 } }])
      expect(reads).not.toHaveBeenCalled()
    } finally {
      reads.mockRestore()
    }
  } finally {
    await storage.close()
  }
})
