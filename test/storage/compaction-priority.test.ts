import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import type { Storage } from '../../storage/contracts.js'
import { COMPACTION_NICE } from '../../storage/embedded/compaction-priority.js'
import { openEmbeddedStorage } from '../../storage/embedded/index.js'

/** The nice value of each thread of this process, by thread id (field 19 of /proc/…/stat). */
async function niceByThread (): Promise<Map<number, number>> {
  const nice = new Map<number, number>()
  for (const tid of await readdir('/proc/self/task')) {
    const stat = await readFile(`/proc/self/task/${tid}/stat`, 'utf8').catch(() => undefined)
    if (stat === undefined) continue
    nice.set(Number(tid), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]))
  }
  return nice
}

const noProc = await readdir('/proc/self/task').then(() => false, () => true)

describe('the embedded store\'s compaction thread', () => {
  const dirs: string[] = []
  const stores: Storage[] = []
  afterEach(async () => {
    for (const store of stores.splice(0)) await store.close()
    for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true })
  })
  const open = async (): Promise<Storage> => {
    const dir = await mkdtemp(join(tmpdir(), 'lowband-compaction-'))
    dirs.push(dir)
    const store = await openEmbeddedStorage(dir)
    stores.push(store)
    return store
  }

  it.skipIf(noProc)('runs below the main thread\'s priority, and only it does (needs /proc)', async () => {
    const before = await niceByThread()
    expect([...before.values()].filter((n) => n === COMPACTION_NICE)).toEqual([])
    await open()
    const after = await niceByThread()
    const lowered = [...after].filter(([, nice]) => nice === COMPACTION_NICE).map(([tid]) => tid)
    expect(lowered).toHaveLength(1)
    // A thread LevelDB started for the store: not the main thread, not one that ran before.
    expect(lowered[0]).not.toBe(process.pid)
    expect(before.has(lowered[0]!)).toBe(false)
    expect(after.get(process.pid)).toBe(before.get(process.pid))
  })

  it.skipIf(noProc)('is lowered once: a second store in the process shares it, and both stores work', async () => {
    const first = await open()
    const second = await open()
    await first.directory.registerUser('u0')
    await second.directory.registerUser('u1')
    const lowered = [...await niceByThread()].filter(([, nice]) => nice === COMPACTION_NICE)
    expect(lowered).toHaveLength(1)
    expect(await first.directory.hasUser('u0')).toBe(true)
    expect(await second.directory.hasUser('u1')).toBe(true)
    expect(await second.directory.hasUser('u0')).toBe(false)
  })
})
