import { cp, readdir, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { InboxMessage, ResumeRequest } from '../../protocol/envelopes.js'
import { openEmbeddedStorage } from '../../storage/embedded/index.js'
import { connectMqtt, SECRET } from '../helpers/broker.js'
import { Inbox } from '../helpers/messages.js'
import { runCli, spawnBroker, type BrokerProcess } from '../helpers/process.js'
import { tempDirs } from '../helpers/temp-dirs.js'
import { mintDeviceToken, secretFromText } from '../../protocol/token.js'

const tempDir = tempDirs('lowband-damage-')
const MESSAGES = 300
let pristine: string

/** A copy of the pristine data dir (a store of MESSAGES messages alice → bob, all in one table), damaged by `damage`. */
async function damaged (damage: (store: string, file: (pattern: RegExp) => Promise<string>) => Promise<void>): Promise<string> {
  const dir = await tempDir()
  await cp(pristine, dir, { recursive: true })
  const store = join(dir, 'store')
  await damage(store, async (pattern) => join(store, (await readdir(store)).find((n) => pattern.test(n))!))
  return dir
}

async function overwrite (file: string, from: number, to: number): Promise<void> {
  const bytes = await readFile(file)
  bytes.fill(0xff, from, to)
  await writeFile(file, bytes)
}

const started = new Set<BrokerProcess>()
async function start (dir: string): Promise<BrokerProcess> {
  const broker = await spawnBroker(['--data-dir', dir, '--jwt-secret', SECRET])
  started.add(broker)
  void broker.exited.then(() => started.delete(broker))
  return broker
}

/** `start` refuses: exit 2, one line naming the data dir, the file and the cause. */
async function refusedStart (dir: string, file: string | RegExp, cause: string | RegExp): Promise<string> {
  const { code, stderr } = await runCli(['start', '--host', '127.0.0.1', '--port', '0', '--ws-port', '0', '--http-port', '0', '--data-dir', dir, '--jwt-secret', SECRET])
  expect(code).toBe(2)
  expect(stderr.trim().split('\n')).toHaveLength(1)
  expect(stderr).toContain(dir)
  expect(stderr).toMatch(file)
  expect(stderr).toMatch(cause)
  return stderr
}

async function repaired (dir: string): Promise<string> {
  const { code, stdout, stderr } = await runCli(['repair', '--data-dir', dir])
  expect(stderr).toBe('')
  expect(code).toBe(0)
  return stdout
}

/** bob's replay from cursor 0: the bodies he gets. */
async function resumeBob (broker: BrokerProcess): Promise<string[]> {
  const token = await mintDeviceToken({ userId: 'bob', ttl: '1h', secret: secretFromText(SECRET) })
  const bob = await connectMqtt(`mqtt://127.0.0.1:${broker.ports.tcp}`, { clientId: 'bob/phone', username: 'bob', password: token })
  const inbox = new Inbox(bob)
  await bob.subscribeAsync('u/bob/#', { qos: 1 })
  await bob.publishAsync('c/r', Buffer.from(ResumeRequest.encode({ cursor: 0 })), { qos: 1 })
  await inbox.wait('/y', 1, 10_000)
  await bob.endAsync()
  return inbox.on('inbox').map((r) => InboxMessage.decode(r.payload).body as string)
}

async function stop (broker: BrokerProcess): Promise<void> {
  broker.child.kill('SIGTERM')
  expect(await broker.exited).toBe(0)
}

const readyz = async (broker: BrokerProcess): Promise<{ status: number, text: string }> => {
  const response = await fetch(`http://127.0.0.1:${broker.ports.http}/readyz`)
  return { status: response.status, text: await response.text() }
}

describe('a damaged store is never replaced, and lowband repair is the way back', { timeout: 90_000 }, () => {
  beforeAll(async () => {
    pristine = await tempDir()
    const storage = await openEmbeddedStorage(pristine)
    await storage.directory.registerUser('alice')
    await storage.directory.registerUser('bob')
    for (let i = 1; i <= MESSAGES; i++) await storage.messages.appendDirect({ from: 'alice', fromDevice: 'phone', to: 'bob', body: `message ${i}`, kind: 0, ts: 1_700_000_000 + i, clientMsgId: `m${i}` })
    await storage.close()
    // Opened once more, the log becomes a table.
    await (await openEmbeddedStorage(pristine)).close()
  })
  afterAll(async () => {
    // A failed test may leave its broker running.
    for (const broker of started) broker.child.kill('SIGKILL')
    await rm(pristine, { recursive: true, force: true })
  })

  it('CURRENT deleted: start refuses with one line, creates nothing; repair recovers everything', async () => {
    const dir = await damaged((store) => rm(join(store, 'CURRENT')))
    await refusedStart(dir, 'CURRENT', 'missing, though the store holds')
    expect((await readdir(join(dir, 'store'))).filter((n) => n.endsWith('.ldb'))).toHaveLength(1)
    const report = await repaired(dir)
    expect(report).toContain(`recovered: 2 users, ${MESSAGES} messages, ${2 * MESSAGES} inbox entries`)
    expect(report).toContain('lost: nothing missing')
    const broker = await start(dir)
    expect(await resumeBob(broker)).toHaveLength(MESSAGES)
    await stop(broker)
  })

  it('MANIFEST garbled: start refuses naming it; repair rebuilds it', async () => {
    const dir = await damaged(async (_, file) => overwrite(await file(/^MANIFEST-/), 10, 30))
    await refusedStart(dir, /MANIFEST-\d+/, 'Corruption: checksum mismatch')
    expect(await repaired(dir)).toContain(`recovered: 2 users, ${MESSAGES} messages`)
  })

  it('table truncated: start refuses naming it; repair sets it aside and says so', async () => {
    const dir = await damaged(async (_, file) => truncate(await file(/\.ldb$/), 4096))
    await refusedStart(dir, /\d+\.ldb/, /table of 4096 bytes where the MANIFEST says \d+: truncated/)
    const report = await repaired(dir)
    expect(report).toMatch(/set aside by LevelDB in store\/lost\/.*\d+\.ldb/)
    expect(report).toMatch(/LevelDB: Table #\d+: \d+ entries/)
    const broker = await start(dir)
    expect((await readyz(broker)).status).toBe(200)
    await stop(broker)
  })

  it('table garbled: the broker finds it on the first read and is not ready, with the line; repair reports what was lost', async () => {
    const dir = await damaged(async (_, file) => {
      const table = await file(/\.ldb$/)
      const { size } = await stat(table)
      // A few blocks in the middle: inbox entries and message records, which a replay reads.
      await overwrite(table, Math.floor(size / 2), Math.floor(size / 2) + 4096)
    })
    const broker = await start(dir)
    expect((await readyz(broker)).status).toBe(200)
    await resumeBob(broker).catch(() => [])
    const { status, text } = await readyz(broker)
    expect(status).toBe(503)
    expect(text).toMatch(new RegExp(`^not ready: the store in ${dir} is damaged: .*Corruption.*run \`lowband repair --data-dir ${dir}\`\n$`))
    await stop(broker)
    const report = await repaired(dir)
    expect(report).toMatch(/LevelDB: Table #\d+: \d+ entries Corruption/)
    expect(report).toMatch(/lost: \d+ /)
    const again = await start(dir)
    expect((await resumeBob(again)).length).toBeLessThan(MESSAGES)
    expect((await readyz(again)).status).toBe(200)
    await stop(again)
  })

  it('development secret garbled: one line naming it, exit 2', async () => {
    const dir = await damaged(async () => {})
    await writeFile(join(dir, 'dev-jwt-secret'), 'not hex at all\n')
    const { code, stderr } = await runCli(['start', '--host', '127.0.0.1', '--port', '0', '--ws-port', '0', '--http-port', '0', '--data-dir', dir])
    expect(code).toBe(2)
    expect(stderr.trim().split('\n')).toHaveLength(1)
    expect(stderr).toContain(join(dir, 'dev-jwt-secret'))
    expect(stderr).toContain('is not a development secret')
  })
})
