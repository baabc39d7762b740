import { cp, readdir, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { ClassicLevel } from 'classic-level'
import { describe, expect, it, vi } from 'vitest'
import type { NewDirectMessage, Storage, StorageHealth } from '../../storage/contracts.js'
import { crc32c } from '../../storage/embedded/crc32c.js'
import { openEmbeddedStorage, StoreOpenError } from '../../storage/embedded/index.js'
import { findLogDamage } from '../../storage/embedded/log-reader.js'
import { RetriableError } from '../../storage/retriable.js'
import { tempDirs } from '../helpers/temp-dirs.js'

const tempDir = tempDirs('lowband-guard-')
const draft = (clientMsgId: string, body = 'hi'): NewDirectMessage => ({ from: 'alice', fromDevice: 'phone', to: 'bob', body, kind: 0, ts: 1_700_000_000, clientMsgId })
type Batch = { _batch: (...args: unknown[]) => Promise<void> }

async function until (done: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !done(); i++) await new Promise((resolve) => setTimeout(resolve, 10))
  expect(done()).toBe(true)
}

/** A data dir whose store holds `count` messages alice → bob, closed; `asTable` reopens it once so they move from the log into a table. */
async function storeWith (count: number, asTable: boolean): Promise<string> {
  const dir = await tempDir()
  const storage = await openEmbeddedStorage(dir)
  for (let i = 1; i <= count; i++) await storage.messages.appendDirect(draft(`m${i}`, `message ${i} ${'x'.repeat(40)}`))
  await storage.close()
  if (asTable) await (await openEmbeddedStorage(dir)).close()
  return dir
}

/**
 * A copy of a data dir taken while its store was open with `count` messages alice → bob written:
 * as after a crash, the log ends with the last message (a clean close writes more after it).
 */
async function crashedStoreWith (count: number): Promise<string> {
  const dir = await tempDir()
  const copy = await tempDir()
  const storage = await openEmbeddedStorage(dir)
  for (let i = 1; i <= count; i++) await storage.messages.appendDirect(draft(`m${i}`, `message ${i} ${'x'.repeat(40)}`))
  await cp(dir, copy, { recursive: true })
  await storage.close()
  await rm(join(copy, 'store', 'LOCK'))
  return copy
}

const filesOf = async (dir: string, suffix: string): Promise<string[]> => (await readdir(join(dir, 'store'))).filter((n) => n.endsWith(suffix)).map((n) => join(dir, 'store', n))

async function refusedOpen (dir: string): Promise<StoreOpenError> {
  const error = await openEmbeddedStorage(dir).then(async (s) => { await s.close(); return undefined }, (e: unknown) => e)
  expect(error).toBeInstanceOf(StoreOpenError)
  return error as StoreOpenError
}

describe('the embedded store after a failed write', () => {
  it('acknowledges nothing until reopened, says why, then reopens itself and stores again', async () => {
    const dir = await tempDir()
    const healths: StorageHealth[] = []
    const storage: Storage = await openEmbeddedStorage(dir, { onHealth: (h) => healths.push(h), reopenDelayMs: { first: 10, max: 50 } })
    try {
      await storage.messages.appendDirect(draft('a'))
      const batch = vi.spyOn(ClassicLevel.prototype as unknown as Batch, '_batch')
        .mockRejectedValueOnce(Object.assign(new Error('IO error: 000003.log: No space left on device'), { code: 'LEVEL_IO_ERROR' }))
      await expect(storage.messages.appendDirect(draft('b'))).rejects.toBeInstanceOf(RetriableError)
      const tried = batch.mock.calls.length
      expect(storage.health()).toEqual({ ready: false, reason: expect.stringContaining(`the store in ${dir} is suspect after a failed write (IO error: 000003.log: No space left on device)`) })
      // Refused before LevelDB is asked: nothing may follow a failed write in its log.
      await expect(storage.directory.registerUser('carol')).rejects.toBeInstanceOf(RetriableError)
      expect(batch.mock.calls.length).toBe(tried)
      batch.mockRestore()

      await until(() => storage.health().ready)
      expect(healths.map((h) => h.ready)).toEqual([false, true])
      const after = await storage.messages.appendDirect(draft('c'))
      expect(after.senderSeq).toBe(2)
      expect((await storage.messages.readInbox('bob', 0, 10)).map((e) => e.message?.clientMsgId)).toEqual(['a', 'c'])
    } finally {
      await storage.close()
    }
  })

  it('is damaged, not reopened, when LevelDB reports a corruption on a read, with the line to repair it', async () => {
    const dir = await storeWith(300, true)
    const [table] = await filesOf(dir, '.ldb')
    const { size } = await stat(table!)
    const storage = await openEmbeddedStorage(dir)
    try {
      expect(storage.health()).toEqual({ ready: true })
      // Damaged while open: every data block, its trailer included, overwritten; the index and the
      // footer at the end kept.
      const bytes = await readFile(table!)
      bytes.fill(0xff, 0, size - 512)
      await writeFile(table!, bytes)
      await expect(storage.messages.readInbox('bob', 0, 10)).rejects.toBeInstanceOf(RetriableError)
      expect(storage.health()).toEqual({ ready: false, reason: expect.stringMatching(new RegExp(`^the store in ${dir} is damaged: .*Corruption.*run \`lowband repair --data-dir ${dir}\`$`)) })
      await expect(storage.messages.appendDirect(draft('late'))).rejects.toBeInstanceOf(RetriableError)
    } finally {
      await storage.close()
    }
  })
})

describe('opening the embedded store', () => {
  it('never creates a new store where CURRENT is missing', async () => {
    const dir = await storeWith(20, true)
    await rm(join(dir, 'store', 'CURRENT'))
    const tables = await filesOf(dir, '.ldb')
    const error = await refusedOpen(dir)
    expect(error.kind).toBe('damaged')
    expect(error.message).toMatch(new RegExp(`^the store in ${dir} is damaged: CURRENT: missing, though the store holds 3 files`))
    expect(await filesOf(dir, 'CURRENT')).toEqual([])
    expect(await filesOf(dir, '.ldb')).toEqual(tables)
  })

  it('refuses a write-ahead log LevelDB would skip part of, and leaves it as it was', async () => {
    const dir = await storeWith(200, false)
    const [log] = await filesOf(dir, '.log')
    const bytes = await readFile(log!)
    const at = Math.floor(bytes.length / 3)
    bytes[at] = bytes[at]! ^ 0xff
    await writeFile(log!, bytes)
    const error = await refusedOpen(dir)
    expect(error.message).toMatch(new RegExp(`damaged: ${log!.slice(-10)}: write-ahead log record at byte \\d+: checksum mismatch`))
    expect(await readFile(log!)).toEqual(bytes)
  })

  it('opens a log cut short in its last record: a write that never completed was never acknowledged', async () => {
    const dir = await crashedStoreWith(200)
    const [log] = await filesOf(dir, '.log')
    await truncate(log!, (await stat(log!)).size - 20)
    const storage = await openEmbeddedStorage(dir)
    try {
      expect(await storage.messages.inboxHead('bob')).toBe(199)
    } finally {
      await storage.close()
    }
  })

  it('refuses a table shorter than its MANIFEST says, and a garbled MANIFEST, naming the file', async () => {
    const truncated = await storeWith(20, true)
    const [table] = await filesOf(truncated, '.ldb')
    await truncate(table!, 100)
    expect((await refusedOpen(truncated)).message).toMatch(new RegExp(`damaged: ${table!.slice(-10)}: table of 100 bytes where the MANIFEST says \\d+: truncated`))

    const garbled = await storeWith(20, true)
    const manifest = (await filesOf(garbled, '')).find((f) => f.includes('MANIFEST-'))
    const bytes = await readFile(manifest!)
    bytes.fill(0x55, 10, 20)
    await writeFile(manifest!, bytes)
    expect((await refusedOpen(garbled)).message).toMatch(new RegExp(`damaged: MANIFEST-\\d+: Corruption: checksum mismatch`))
  })
})

describe('reading LevelDB logs', () => {
  it('computes CRC-32C (the check value of "123456789")', () => {
    expect(crc32c(Buffer.from('123456789'))).toBe(0xe3069283)
  })

  it('finds no damage in a log cut anywhere at its end', async () => {
    const dir = await storeWith(100, false)
    const [log] = await filesOf(dir, '.log')
    const bytes = await readFile(log!)
    for (const cut of [1, 3, 7, 100, 1000]) expect(findLogDamage(bytes.subarray(0, bytes.length - cut))).toBeUndefined()
    expect(findLogDamage(bytes)).toBeUndefined()
  })
})
