import { readdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { openEmbeddedStorage } from '../../storage/embedded/index.js'
import { startTestBroker, type TestBroker } from '../helpers/broker.js'
import { sendRaw } from '../helpers/chat.js'
import { createPowerLossDisk, powerLossUnavailable, type PowerLossDisk } from '../helpers/power-loss.js'

const skipReason = await powerLossUnavailable()

/*
 * ✓ means stored on the disk, not in the page cache: every message the broker acknowledged is in
 * the store after a power cut right after the last PUBACK. A SIGKILL test cannot show this (the
 * kernel keeps the killed process's writes); this one drops whatever was not synced.
 */
describe.skipIf(skipReason !== null)(`power loss right after a burst of PUBACKs${skipReason === null ? '' : ` (skipped: ${skipReason})`}`, () => {
  let disk: PowerLossDisk
  let broker: TestBroker
  beforeAll(async () => {
    disk = await createPowerLossDisk()
    // A phone flushing its outbox may send faster than the default rate limit allows.
    broker = await startTestBroker({ rateLimit: 10_000, rateBurst: 10_000 }, join(disk.root, 'data'))
  })
  afterAll(async () => {
    await broker?.close()
    await disk?.close()
  })

  it('loses no acknowledged message, while an unsynced file is lost', async () => {
    const bob = await broker.device('bob', 'phone')
    await bob.endAsync()
    const alice = await broker.device('alice', 'phone', { subscribe: false })
    const bodies = Array.from({ length: 300 }, (_, i) => `kept ${i + 1}`)
    // Pipelined, like a phone flushing its outbox: each resolves on its PUBACK.
    await Promise.all(bodies.map((body) => sendRaw(alice, 'bob', body)))
    // The control: written, never synced. If it survives, this disk drops nothing and the test
    // below would prove nothing.
    await writeFile(join(disk.root, 'unsynced-control'), 'not synced')

    const after = await disk.powerCut()

    expect(await readdir(after)).not.toContain('unsynced-control')
    const store = await openEmbeddedStorage(join(after, 'data'))
    try {
      const inbox = await store.messages.readInbox('bob', 0, 1000)
      expect(inbox.map((entry) => entry.message?.body)).toEqual(bodies)
    } finally {
      await store.close()
    }
  })
})
