import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { JWT_SECRET, TestBroker } from '../clients/helpers/broker.js'
import { runCli } from '../clients/helpers/cli.js'
import { blob, createTestBucket, mediaFlags, NO_S3, S3, sha256 } from './helpers/s3.js'

describe.skipIf(S3 === undefined)(`lowband send --file / recv --download / chat${S3 === undefined ? ` (skipped: ${NO_S3})` : ''}`, () => {
  let broker: TestBroker
  let env: Record<string, string>
  let dir: string
  beforeAll(async () => {
    broker = await TestBroker.start({ flags: mediaFlags(await createTestBucket()) })
    env = { LOWBAND_URL: broker.url, LOWBAND_DATA_DIR: broker.dataDir, LOWBAND_JWT_SECRET: JWT_SECRET }
    for (const user of ['alice', 'bob']) await (await broker.connected(user, 'setup')).close()
    dir = await mkdtemp(join(tmpdir(), 'lowband-cli-media-'))
  })
  afterAll(async () => {
    await broker?.stop()
    await rm(dir, { recursive: true, force: true })
  })

  const cli = (...args: string[]) => runCli(args, env)

  it('a file sent with send --file is saved by recv --download, byte for byte, and chat shows its size and type', async () => {
    const photo = blob(50 * 1024)
    await writeFile(join(dir, 'beach.jpg'), photo)
    const sent = await cli('send', '--user', 'alice', '--to', 'bob', '--file', join(dir, 'beach.jpg')).exited
    expect(sent.stderr).toBe('')
    expect(sent.code).toBe(0)
    const id = sent.stdout.trim()

    const received = await cli('recv', '--user', 'bob', '--download', join(dir, 'inbox'), '--timeout', '0').exited
    expect(received.code).toBe(0)
    const line = JSON.parse(received.stdout.trim().split('\n').at(-1)!) as { id: string, kind: number, media: Record<string, unknown>, file: string }
    expect(line).toMatchObject({ id, kind: 1, media: { mime: 'image/jpeg', size: photo.length, name: 'beach.jpg', sha256: Buffer.from(await sha256(photo)).toString('hex') } })
    expect(await readFile(line.file)).toEqual(Buffer.from(photo))

    const chat = cli('chat', '--user', 'bob', '--device', 'terminal', '--to', 'alice', '--history', '5')
    await chat.printed('alice: [beach.jpg: image/jpeg, 50 KB]')
    chat.stdin.end()
    expect((await chat.exited).code).toBe(0)
  })

  it('send --file to a group, and a refused type exits 1 with its code', async () => {
    // Through bob's `recv` device: it has keys (from the first test), so the group message is end-to-end encrypted to it.
    const alice = await broker.connected('alice', 'phone')
    const group = await alice.createGroup('family', ['bob'])
    await writeFile(join(dir, 'note.ogg'), blob(3000))
    expect((await cli('send', '--user', 'alice', '--group', group.id, '--file', join(dir, 'note.ogg')).exited).code).toBe(0)
    const received = await cli('recv', '--user', 'bob', '--timeout', '0').exited
    const lines = received.stdout.trim().split('\n').map((l) => JSON.parse(l) as { group?: string, kind: number, media?: Record<string, unknown> })
    expect(lines.find((l) => l.group === group.id && l.kind === 1)?.media).toMatchObject({ mime: 'audio/ogg', size: 3000 })

    const refused = await cli('send', '--user', 'alice', '--to', 'bob', '--file', join(dir, 'note.ogg'), '--mime', 'model/stl').exited
    expect(refused).toMatchObject({ code: 1, stderr: expect.stringContaining('MEDIA_TYPE_REFUSED (43)') })
    const usage = await cli('send', '--user', 'alice', '--to', 'bob', '--file', join(dir, 'note.ogg'), 'and text').exited
    expect(usage).toMatchObject({ code: 2, stderr: 'lowband: give the text or --file, not both (see lowband send --help)\n' })
  })
})
