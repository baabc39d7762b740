import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import { ClassicLevel } from 'classic-level'
import { describe, expect, it, vi } from 'vitest'
import { conversationOf, type NewDirectMessage, type Storage } from '../../storage/contracts.js'
import { openEmbeddedStorage } from '../../storage/embedded/index.js'
import { keys } from '../../storage/embedded/keys.js'
import { repairStore } from '../../storage/embedded/repair.js'
import { tempDirs } from '../helpers/temp-dirs.js'

/**
 * The embedded store's counters on a real store: a new conversation's first append costs no
 * iterator (a gap-free sequence without its entry 1 is empty), and every way a counter is loaded
 * still hands out gap-free numbers that no two messages share.
 */
const tempDir = tempDirs('lowband-counters-')
let sent = 0
const draft = (from: string, to: string): NewDirectMessage => ({ from, fromDevice: 'phone', to, body: 'hi', kind: 0, ts: 1_700_000_000, clientMsgId: `m${++sent}` })
type Batch = { _batch: (...args: unknown[]) => Promise<void> }

async function withStore<T> (dir: string, work: (storage: Storage) => Promise<T>): Promise<T> {
  const storage = await openEmbeddedStorage(dir, { reopenDelayMs: { first: 10, max: 50 } })
  try {
    return await work(storage)
  } finally {
    await storage.close()
  }
}

async function withLevel (dir: string, work: (db: ClassicLevel<string, Uint8Array>) => Promise<void>): Promise<void> {
  const db = new ClassicLevel<string, Uint8Array>(join(dir, 'store'), { keyEncoding: 'utf8', valueEncoding: 'view' })
  await db.open()
  try {
    await work(db)
  } finally {
    await db.close()
  }
}

const numbers = (r: { message: { cseq: number }, senderSeq: number, recipientSeq: number }): number[] => [r.message.cseq, r.senderSeq, r.recipientSeq]

describe('the embedded store\'s counters', () => {
  it('opens no iterator for a new conversation of new users, and reads the head of each counter with history once after a restart', async () => {
    const dir = await tempDir()
    const iterators = vi.spyOn(ClassicLevel.prototype, 'keys')
    try {
      await withStore(dir, async (storage) => {
        for (let i = 1; i <= 5; i++) expect(numbers(await storage.messages.appendDirect(draft('alice', 'bob')))).toEqual([i, i, i])
        expect(iterators).not.toHaveBeenCalled()
      })
      await withStore(dir, async (storage) => {
        expect(numbers(await storage.messages.appendDirect(draft('alice', 'bob')))).toEqual([6, 6, 6])
        expect(iterators).toHaveBeenCalledTimes(3) // the conversation, alice's inbox, bob's inbox
        expect(numbers(await storage.messages.appendDirect(draft('bob', 'carol')))).toEqual([1, 7, 1])
        expect(iterators).toHaveBeenCalledTimes(3)
      })
    } finally {
      iterators.mockRestore()
    }
  })

  it('never gives two concurrent first appends one number, whether their counters are found empty or loaded', async () => {
    const dir = await tempDir()
    await withStore(dir, async (storage) => { for (let i = 0; i < 3; i++) await storage.messages.appendDirect(draft('alice', 'carol')) })
    await withStore(dir, async (storage) => {
      // alice's inbox and alice–carol are loaded from disk while alice–bob and bob's inbox are found empty.
      const results = await Promise.all(Array.from({ length: 40 }, (_, i) => storage.messages.appendDirect(i % 2 === 0 ? draft('alice', 'bob') : draft('carol', 'alice'))))
      const toBob = results.filter((r) => r.message.to === 'bob')
      const fromCarol = results.filter((r) => r.message.from === 'carol')
      expect(toBob.map((r) => r.message.cseq).sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1))
      expect(toBob.map((r) => r.recipientSeq).sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1))
      expect(fromCarol.map((r) => r.message.cseq).sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i + 4))
      const aliceSeqs = [...toBob.map((r) => r.senderSeq), ...fromCarol.map((r) => r.recipientSeq)].sort((a, b) => a - b)
      expect(aliceSeqs).toEqual(Array.from({ length: 40 }, (_, i) => i + 4))
    })
  })

  it('hands the numbers of a failed first write out again once the store has reopened', async () => {
    const dir = await tempDir()
    await withStore(dir, async (storage) => {
      const batch = vi.spyOn(ClassicLevel.prototype as unknown as Batch, '_batch')
        .mockRejectedValueOnce(Object.assign(new Error('IO error: 000003.log: No space left on device'), { code: 'LEVEL_IO_ERROR' }))
      await expect(storage.messages.appendDirect(draft('alice', 'bob'))).rejects.toThrow(/No space left/)
      batch.mockRestore()
      for (let i = 0; i < 500 && !storage.health().ready; i++) await new Promise((resolve) => setTimeout(resolve, 10))
      expect(numbers(await storage.messages.appendDirect(draft('alice', 'bob')))).toEqual([1, 1, 1])
      expect((await storage.messages.readInbox('bob', 0, 10)).map((e) => e.seq)).toEqual([1])
    })
  })

  it('after lowband repair, continues a conversation that lost its first entries after its last, never over it', async () => {
    const dir = await tempDir()
    await withStore(dir, async (storage) => { for (let i = 0; i < 3; i++) await storage.messages.appendDirect(draft('alice', 'bob')) })
    // What a repair may leave: the first entries lost with a damaged block, the later ones kept.
    await withLevel(dir, (db) => db.batch([keys.conversation(conversationOf('alice', 'bob'), 1), keys.inbox('alice', 1), keys.inbox('bob', 1)].map((key) => ({ type: 'del', key }))))
    await repairStore(dir)
    await withStore(dir, async (storage) => expect(numbers(await storage.messages.appendDirect(draft('alice', 'bob')))).toEqual([4, 4, 4]))

    // The repair's mark holds when what it set aside (store/lost) has been deleted …
    await rm(join(dir, 'store', 'lost'), { recursive: true })
    await withStore(dir, async (storage) => expect(numbers(await storage.messages.appendDirect(draft('alice', 'bob')))).toEqual([5, 5, 5]))

    // … and store/lost tells of a repair made before the mark existed.
    await withLevel(dir, (db) => db.del(keys.repairedMarker))
    await ClassicLevel.repair(join(dir, 'store'))
    await withStore(dir, async (storage) => expect(numbers(await storage.messages.appendDirect(draft('alice', 'bob')))).toEqual([6, 6, 6]))
  })
})
