import { ClassicLevel } from 'classic-level'
import { expect, it, vi } from 'vitest'
import { conversationOf } from '../../storage/contracts.js'
import { openEmbeddedStorage } from '../../storage/embedded/index.js'
import { tempDirs } from '../helpers/temp-dirs.js'
import { messageStoreContract } from './message-store.contract.js'

const tempDir = tempDirs('lowband-store-')

messageStoreContract('embedded (LevelDB)', async () => {
  const dir = await tempDir()
  return { storage: await openEmbeddedStorage(dir), reopen: () => openEmbeddedStorage(dir) }
})

it('records the delivery of a message just stored in a conversation in use from memory, without reading LevelDB', async () => {
  const storage = await openEmbeddedStorage(await tempDir())
  try {
    const send = (clientMsgId: string) => storage.messages.appendDirect({ from: 'alice', fromDevice: 'phone', to: 'bob', body: 'hi', kind: 0, ts: 1_700_000_000, clientMsgId })
    await storage.messages.markDelivered('bob', (await send('c1')).recipientSeq) // reads bob's watermarks once
    const stored = await send('c2')
    const reads = vi.spyOn(ClassicLevel.prototype as unknown as { _getSync: () => unknown }, '_getSync')
    try {
      expect(await storage.messages.markDelivered('bob', stored.recipientSeq)).toBe(conversationOf('alice', 'bob'))
      expect(reads).not.toHaveBeenCalled()
    } finally {
      reads.mockRestore()
    }
    const receipts = await storage.messages.flushDelivered(conversationOf('alice', 'bob'), 1_700_000_001)
    expect(receipts).toMatchObject([{ owner: 'alice', receipt: { peer: 'bob', status: 1, cseq: 2 } }])
  } finally {
    await storage.close()
  }
})

it('walks past many messages not for the recipient over several turns, and still counts correctly', async () => {
  const storage = await openEmbeddedStorage(await tempDir())
  try {
    const draft = (from: string, to: string, clientMsgId: string) => ({ from, fromDevice: 'phone', to, body: 'x', kind: 0, ts: 1_700_000_000, clientMsgId })
    const first = await storage.messages.appendDirect(draft('alice', 'bob', 'first'))
    // More of bob's own messages than one turn's walk takes.
    await Promise.all(Array.from({ length: 1100 }, (_, i) => storage.messages.appendDirect(draft('bob', 'alice', `b${i}`))))
    const last = await storage.messages.appendDirect(draft('alice', 'bob', 'last'))
    expect(await storage.messages.markDelivered('bob', last.recipientSeq)).toBeUndefined()
    const turns = vi.spyOn(globalThis, 'setImmediate')
    try {
      expect(await storage.messages.markDelivered('bob', first.recipientSeq)).toBe(conversationOf('alice', 'bob'))
      expect(turns).toHaveBeenCalled()
    } finally {
      turns.mockRestore()
    }
    const receipts = await storage.messages.flushDelivered(conversationOf('alice', 'bob'), 1_700_000_001)
    expect(receipts.map((e) => [e.owner, e.receipt.cseq])).toEqual([['alice', last.message.cseq]])
  } finally {
    await storage.close()
  }
})

it('tells an append\'s caller when it has its numbers, before it is durable, and numbers the appends started then after it', async () => {
  const storage = await openEmbeddedStorage(await tempDir())
  try {
    const draft = (clientMsgId: string) => ({ from: 'alice', fromDevice: 'phone', to: 'bob', body: 'x', kind: 0, ts: 1_700_000_000, clientMsgId })
    // The conversation's counters are loaded from disk the first time; after that numbering waits for nothing.
    await storage.messages.appendDirect(draft('warm'))
    let durable = false
    let second: Promise<{ message: { cseq: number } }> | undefined
    let third: Promise<{ message: { cseq: number } }> | undefined
    const first = storage.messages.appendDirect(draft('a'), () => {
      expect(durable).toBe(false)
      second = storage.messages.appendDirect(draft('b'), () => {
        third = storage.messages.appendDirect(draft('a')) // a resend of the first: deduplicated
      })
    }).then((stored) => { durable = true; return stored })
    expect(second).toBeDefined()
    const [a, b, resend] = await Promise.all([first, second!, third!])
    expect([a.message.cseq, b.message.cseq]).toEqual([2, 3])
    expect(resend).toMatchObject({ duplicate: true, message: { cseq: 2 } })
  } finally {
    await storage.close()
  }
})
