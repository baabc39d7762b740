import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ChatMessage, GroupInfo, LowbandClient, MessageStatusChange, TypingChange } from '../../clients/sdk/index.js'
import { JWT_SECRET, TestBroker } from './helpers/broker.js'
import { runCli } from './helpers/cli.js'
import { next } from './helpers/events.js'

describe('lowband group / send --group / chat with statuses, presence and typing', () => {
  let broker: TestBroker
  let env: Record<string, string>
  beforeAll(async () => {
    broker = await TestBroker.start()
    env = { LOWBAND_URL: broker.url, LOWBAND_DATA_DIR: broker.dataDir, LOWBAND_JWT_SECRET: JWT_SECRET }
    for (const user of ['alice', 'bob', 'carol', 'dave']) await (await broker.connected(user, 'setup')).close()
  })
  afterAll(async () => { await broker.stop() })

  const cli = (...args: string[]) => runCli(args, env)
  // The CLI encrypts to every device with keys (its own devices have some): the SDK devices that
  // chat with it need keys too, or they would see only ciphertexts meant for others.
  const withKeys = async (user: string, device: string): Promise<LowbandClient> => {
    const client = await broker.connected(user, device, { e2e: { plaintextFallback: true } })
    await client.publishKeys()
    return client
  }
  const ok = async (...args: string[]): Promise<string> => {
    const { code, stdout, stderr } = await cli(...args).exited
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' })
    return stdout
  }

  it('creates a group, adds, promotes, demotes, removes, lists and leaves, printing groups as lines or JSON', async () => {
    const created = await ok('group', 'create', 'Hikers', '--user', 'alice', '--member', 'bob', '--member', 'carol')
    const id = created.split(' ')[0]!
    expect(created).toBe(`${id} "Hikers" members: alice (admin), bob, carol\n`)

    const added = JSON.parse(await ok('group', 'add', id, 'dave', '--user', 'alice', '--json')) as GroupInfo
    expect(added).toMatchObject({ id, name: 'Hikers', admins: ['alice'], members: ['alice', 'bob', 'carol', 'dave'], createdBy: 'alice', created: expect.any(Number) })
    expect(await ok('group', 'promote', id, 'bob', '--user', 'alice')).toBe(`${id} "Hikers" members: alice (admin), bob (admin), carol, dave\n`)
    expect(await ok('group', 'demote', id, 'alice', '--user', 'bob')).toContain('members: alice, bob (admin), carol, dave')
    expect(await ok('group', 'rename', id, 'Hikers 2', '--user', 'carol')).toContain(`${id} "Hikers 2"`)
    expect(await ok('group', 'remove', id, 'dave', '--user', 'bob')).toContain('members: alice, bob (admin), carol\n')
    expect(await ok('group', 'leave', id, '--user', 'carol')).toBe('')
    expect(await ok('group', 'info', id, '--user', 'alice')).toBe(`${id} "Hikers 2" members: alice, bob (admin)\n`)
    const listed = (await ok('group', 'list', '--user', 'bob', '--json')).trim().split('\n').map((line) => (JSON.parse(line) as GroupInfo).id)
    expect(listed).toContain(id)
  })

  it('reports coded errors as "lowband: NAME (code): detail" with exit 1, and bad input with exit 2', async () => {
    const id = (await ok('group', 'create', 'Admins only', '--user', 'alice', '--member', 'bob')).split(' ')[0]!
    expect(await cli('group', 'add', id, 'carol', '--user', 'bob').exited).toEqual({ code: 1, stdout: '', stderr: `lowband: NOT_ADMIN (10): only a group admin may do that: ${id}\n` })
    expect(await cli('group', 'info', id, '--user', 'dave').exited).toEqual({ code: 1, stdout: '', stderr: `lowband: NOT_MEMBER (9): not a member of that group: ${id}\n` })
    expect(await cli('group', 'info', 'g-none', '--user', 'dave').exited).toMatchObject({ code: 1, stderr: 'lowband: UNKNOWN_GROUP (13): no such group: g-none\n' })
    expect(await cli('group', 'add', id, 'no such!', '--user', 'alice').exited).toMatchObject({ code: 2, stderr: 'lowband: invalid user "no such!": 1-64 of A-Z a-z 0-9 _ . @ - (see lowband group add --help)\n' })
    expect((await cli('group', 'create', '--user', 'alice').exited).code).toBe(2)
    expect((await cli('group', 'remove', id, '--user', 'alice').exited).code).toBe(2)
    expect((await cli('group', 'frobnicate', '--user', 'alice').exited).code).toBe(2)
    expect(await cli('send', '--user', 'dave', '--group', id, 'let me in').exited).toMatchObject({ code: 1, stderr: `lowband: NOT_MEMBER (9): not a member of that group: ${id}\n` })
  })

  it('send --group stores a group message that members receive with the group set', async () => {
    const id = (await ok('group', 'create', 'Senders', '--user', 'alice', '--member', 'bob')).split(' ')[0]!
    const bob = await broker.connected('bob', 'reader')
    const received = next<ChatMessage>((h) => bob.onMessage(h), (m) => m.kind === 0 && m.group === id)
    const stored = (await ok('send', '--user', 'alice', '--group', id, 'to', 'the', 'group')).trim()
    expect(await received).toMatchObject({ id: stored, from: 'alice', group: id, text: 'to the group' })
  })

  it('chat --to shows presence, ✓ / ✓✓ / read for my lines, typing, and marks what it shows as read', async () => {
    const alice = await withKeys('alice', 'phone')
    const chat = cli('chat', '--user', 'bob', '--device', 'term', '--to', 'alice')
    // A terminal's keystrokes: the chat sends "typing" while a line is being written.
    Object.assign(chat.stdin, { isTTY: true })
    await chat.printed('-- chatting with alice')
    await chat.printed('-- alice is online')

    const aliceSeesTyping = next<TypingChange>((h) => alice.onTyping(h))
    chat.stdin.write('hel')
    expect(await aliceSeesTyping).toEqual({ conversation: { user: 'bob' }, from: 'bob', typing: true })
    const aliceGets = next<ChatMessage>((h) => alice.onMessage(h))
    chat.stdin.write('lo\n')
    const hello = await aliceGets
    expect(hello.text).toBe('hello')
    await chat.printed(' me: hello ✓')
    await chat.printed('-- ✓✓ delivered: "hello"')
    alice.markRead('bob', hello.cseq)
    await chat.printed('-- ✓✓ read: "hello"')

    alice.typing('bob')
    await chat.printed('-- alice is typing…')
    const readByBob = next<MessageStatusChange>((h) => alice.onMessageStatus(h), (c) => c.status === 'read')
    const sent = await alice.send('bob', 'how are you?')
    await chat.printed('alice: how are you?')
    expect(await readByBob).toMatchObject({ id: sent.id, status: 'read' })

    await alice.close()
    await chat.printed('-- alice was last seen ')
    chat.stdin.end()
    expect((await chat.exited).code).toBe(0)
  })

  it('chat --group shows the group, its system events and members\' messages, and my messages\' group statuses', async () => {
    const alice = await withKeys('alice', 'tablet')
    const bob = await withKeys('bob', 'tablet')
    const group = await alice.createGroup('Climbers', ['carol', 'bob'])
    const chat = cli('chat', '--user', 'carol', '--device', 'term', '--group', group.id)
    await chat.printed(`-- chatting in "Climbers" (${group.id}) as carol/term`)
    await chat.printed('-- alice created the group "Climbers"')
    await alice.addMembers(group.id, ['dave'])
    await chat.printed('-- alice added dave')
    await alice.sendToGroup(group.id, 'ropes ready?')
    await chat.printed('alice: ropes ready?')

    const dave = await withKeys('dave', 'tablet')
    const bobGets = next<ChatMessage>((h) => bob.onMessage(h), (m) => m.text === 'yes')
    const daveGets = next<ChatMessage>((h) => dave.onMessage(h), (m) => m.text === 'yes')
    chat.stdin.write('yes\n')
    const [forBob] = [await bobGets, await daveGets]
    await chat.printed(' me: yes ✓')
    await chat.printed('-- ✓✓ delivered: "yes"')
    for (const member of [alice, bob, dave]) member.markRead({ group: group.id }, forBob!.cseq)
    await chat.printed('-- ✓✓ read: "yes"')
    chat.stdin.end()
    expect((await chat.exited).code).toBe(0)
  })

  it('chat refuses a group it is not in (exit 1) and both --to and --group (exit 2)', async () => {
    const id = (await ok('group', 'create', 'Closed', '--user', 'alice')).split(' ')[0]!
    expect(await cli('chat', '--user', 'dave', '--group', id).exited).toMatchObject({ code: 1, stderr: `lowband: NOT_MEMBER (9): not a member of that group: ${id}\n` })
    expect(await cli('chat', '--user', 'dave', '--group', id, '--to', 'alice').exited).toMatchObject({ code: 2, stderr: 'lowband: give --to or --group, not both (see lowband chat --help)\n' })
  })
})
