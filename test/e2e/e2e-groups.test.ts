import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { groupDecrypt } from '../../clients/sdk/crypto/sender-keys.js'
import type { ChatMessage, GroupEvent } from '../../clients/sdk/index.js'
import { decodeEncryptedBody } from '../../protocol/e2e.js'
import { KIND } from '../../protocol/envelopes.js'
import { TestBroker } from '../clients/helpers/broker.js'
import { collect, next } from '../clients/helpers/events.js'
import { e2eDevice } from './helpers.js'

describe('end-to-end encrypted groups (sender keys)', { timeout: 60_000 }, () => {
  let broker: TestBroker
  beforeAll(async () => { broker = await TestBroker.start() })
  afterAll(async () => { await broker.stop() })

  it('one ciphertext per message; a removed member gets no new sender key and cannot read what follows', async () => {
    const alice = await e2eDevice(broker, 'alice', 'phone')
    const bob = await e2eDevice(broker, 'bob', 'phone')
    const carol = await e2eDevice(broker, 'carol', 'phone')
    const group = await alice.client.createGroup('Hikers', ['bob', 'carol'])
    const plain = (m: ChatMessage): boolean => m.kind === KIND.text
    const bobGot = collect<ChatMessage>((h) => bob.client.onMessage((m) => { if (plain(m)) h(m) }), 2)
    const carolGot = next<ChatMessage>((h) => carol.client.onMessage(h), plain)

    await alice.client.sendToGroup(group.id, 'hello hikers')
    expect(await carolGot).toMatchObject({ text: 'hello hikers', encrypted: true, group: group.id })
    const aliceGot = next<ChatMessage>((h) => alice.client.onMessage(h), plain)
    await bob.client.sendToGroup(group.id, 'hi all from bob')
    expect(await aliceGot).toMatchObject({ text: 'hi all from bob', from: 'bob', encrypted: true })

    const removed = next<GroupEvent>((h) => alice.client.onGroupEvent(h), (e) => e.event === 'removed')
    await alice.client.removeMember(group.id, 'carol')
    await removed
    const sent = await alice.client.sendToGroup(group.id, 'without carol')
    expect((await bobGot.done).map((m) => m.text)).toEqual(['hello hikers', 'without carol'])

    // The broker stored one shared ciphertext, and copies (alice's new sender key) for bob only.
    const page = await broker.broker.storage.messages.history('alice', group.id, 0, 10, true)
    const stored = page.items.find((i) => i.message.cseq === sent.cseq)!.message
    const body = decodeEncryptedBody(stored.body)
    expect([...body.copies.keys()]).toEqual(['bob'])
    // Even with the stored ciphertext in hand, carol's old copy of alice's sender key does not open it.
    await carol.client.keysSaved()
    const carolsKey = carol.state().peerSenderKeys[`${group.id}/alice/phone`]!
    expect(carolsKey).toBeDefined()
    expect(() => groupDecrypt(carolsKey, body.shared!, `lowband group ${group.id} from alice/phone`)).toThrow(/a sender key this device was never given/)
  })
})
