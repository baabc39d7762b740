import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { ChatMessage, IdentityChange } from '../../clients/sdk/index.js'
import { encodeDeviceState } from '../../clients/sdk/crypto/device-state.js'
import { TestBroker } from '../clients/helpers/broker.js'
import { collect, next } from '../clients/helpers/events.js'
import { e2eDevice } from './helpers.js'

/** Every file under `dir`, as bytes. */
async function filesUnder (dir: string): Promise<Buffer[]> {
  const out: Buffer[] = []
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) out.push(await readFile(join(entry.parentPath, entry.name)))
  }
  return out
}

const texts = (messages: ChatMessage[]): Array<string | undefined> => messages.map((m) => m.text)

// Each device makes its keys (50 one-time prekeys) on a machine shared with other test files.
describe('end-to-end encrypted chat over a real broker', { timeout: 60_000 }, () => {
  let broker: TestBroker
  beforeAll(async () => { broker = await TestBroker.start() })
  afterAll(async () => { await broker.stop() })

  it('alice and bob, two devices each: every other device reads every message, and the broker stores none of it in clear', async () => {
    const alicePhone = await e2eDevice(broker, 'alice', 'phone')
    const aliceLaptop = await e2eDevice(broker, 'alice', 'laptop')
    const bobPhone = await e2eDevice(broker, 'bob', 'phone')
    const bobLaptop = await e2eDevice(broker, 'bob', 'laptop')
    const heard = {
      aliceLaptop: collect<ChatMessage>((h) => aliceLaptop.client.onMessage(h), 4),
      bobPhone: collect<ChatMessage>((h) => bobPhone.client.onMessage(h), 4),
      bobLaptop: collect<ChatMessage>((h) => bobLaptop.client.onMessage(h), 3),
      alicePhone: collect<ChatMessage>((h) => alicePhone.client.onMessage(h), 1)
    }
    await alicePhone.client.send('bob', 'secret-word-7f3a: hi bob')
    await alicePhone.client.send('bob', 'secret-word-7f3a: same chain')
    await bobLaptop.client.send('alice', 'secret-word-7f3a: hi alice')
    await alicePhone.client.send('bob', 'secret-word-7f3a: a new ratchet step')
    const bobPhoneGot = await heard.bobPhone.done
    expect(texts(bobPhoneGot)).toEqual(['secret-word-7f3a: hi bob', 'secret-word-7f3a: same chain', 'secret-word-7f3a: hi alice', 'secret-word-7f3a: a new ratchet step'])
    expect(bobPhoneGot.every((m) => m.encrypted === true && m.kind === 0 && m.undecryptable === undefined)).toBe(true)
    expect(bobPhoneGot[2]!.own).toBe(true)
    expect(texts(await heard.aliceLaptop.done)).toEqual(texts(bobPhoneGot))
    expect(texts(await heard.bobLaptop.done)).toEqual(['secret-word-7f3a: hi bob', 'secret-word-7f3a: same chain', 'secret-word-7f3a: a new ratchet step'])
    expect(texts(await heard.alicePhone.done)).toEqual(['secret-word-7f3a: hi alice'])
    // The same message id on every device, as for plaintext.
    expect(new Set(bobPhoneGot.map((m) => m.id)).size).toBe(4)

    // A plaintext control: the scan does find text the broker stores in clear.
    const carol = await broker.connected('carol', 'phone')
    await carol.send('bob', 'control-word-91be stored in clear')
    await broker.broker.storage.flush()
    const files = await filesUnder(broker.dataDir)
    expect(files.some((f) => f.includes('control-word-91be'))).toBe(true)
    expect(files.some((f) => f.includes('secret-word-7f3a'))).toBe(false)

    // Both sides compute the same safety number.
    const fromAlice = await alicePhone.client.safetyNumber('bob')
    expect(fromAlice).toMatch(/^(\d{5} ){11}\d{5}$/)
    expect(await bobLaptop.client.safetyNumber('alice')).toBe(fromAlice)
  })

  it('reads messages that arrive out of order and skips lost ones within the window', async () => {
    // Covered at the ratchet (test/e2e/sessions.test.ts); here: a device that was offline for a burst reads it all in order.
    const erin = await e2eDevice(broker, 'erin', 'phone')
    const fred = await e2eDevice(broker, 'fred', 'phone')
    await fred.client.close()
    for (let i = 1; i <= 5; i++) await erin.client.send('fred', `burst ${i}`)
    let got: Promise<ChatMessage[]> | undefined
    await e2eDevice(broker, 'fred', 'phone', { state: fred.saved(), client: { cursor: fred.client.cursor }, before: (client) => { got = collect<ChatMessage>((h) => client.onMessage(h), 5).done } })
    expect(texts(await got!)).toEqual(['burst 1', 'burst 2', 'burst 3', 'burst 4', 'burst 5'])
  })

  it('a new device of the recipient: the broker answers DEVICES_CHANGED, the SDK fetches its keys and sends again', async () => {
    const gina = await e2eDevice(broker, 'gina', 'phone')
    const hank = await e2eDevice(broker, 'hank', 'phone')
    const before = next<ChatMessage>((h) => hank.client.onMessage(h))
    await gina.client.send('hank', 'before the tablet')
    await before
    let early: Promise<ChatMessage> | undefined
    const tablet = await e2eDevice(broker, 'hank', 'tablet', { before: (client) => { early = next<ChatMessage>((h) => client.onMessage(h)) } })
    // What was sent before the tablet had keys holds no copy for it: marked, and no resend asked for (no history for a new device).
    expect(await early).toMatchObject({ cseq: 1, encrypted: true, undecryptable: expect.objectContaining({ errorName: 'UNDECRYPTABLE' }) })
    const got = next<ChatMessage>((h) => tablet.client.onMessage(h))
    const refused: string[] = []
    gina.client.onError((e) => refused.push(e.message))
    await gina.client.send('hank', 'after the tablet')
    expect(await got).toMatchObject({ text: 'after the tablet', encrypted: true, from: 'gina', cseq: 2 })
    expect(refused).toEqual([])
  })

  it('a lost session: the message arrives marked undecryptable, then again over a new session', async () => {
    const ivan = await e2eDevice(broker, 'ivan', 'phone')
    const jane = await e2eDevice(broker, 'jane', 'phone')
    const first = next<ChatMessage>((h) => jane.client.onMessage(h))
    await ivan.client.send('jane', 'first')
    expect((await first).text).toBe('first')
    await jane.client.keysSaved()
    // jane's device loses its session with ivan (a restore from an old backup, say).
    const state = jane.state()
    delete state.sessions['ivan/phone']
    await jane.client.close()
    const restored = await e2eDevice(broker, 'jane', 'phone', { state: encodeDeviceState(state), client: { cursor: jane.client.cursor } })
    const got = collect<ChatMessage>((h) => restored.client.onMessage(h), 2)
    const sent = await ivan.client.send('jane', 'second')
    const [broken, resent] = await got.done
    expect(broken).toMatchObject({ id: sent.id, encrypted: true })
    expect(broken!.undecryptable?.errorName).toBe('UNDECRYPTABLE')
    expect(resent).toMatchObject({ id: sent.id, text: 'second', resent: true, cseq: sent.cseq })
  })

  it('warns when a contact re-registers with a new identity key, and the safety number changes', async () => {
    const kate = await e2eDevice(broker, 'kate', 'phone')
    const leo = await e2eDevice(broker, 'leo', 'phone')
    await kate.client.send('leo', 'hello')
    const before = await kate.client.safetyNumber('leo')
    await leo.client.close()
    const changed = next<IdentityChange>((h) => kate.client.onIdentityChange(h))
    const notice = next<ChatMessage>((h) => kate.client.onMessage(h), (m) => m.keyChange !== undefined)
    // leo reinstalls: a new identity for the same device.
    const reinstalled = await e2eDevice(broker, 'leo', 'phone', { client: { cursor: leo.client.cursor } })
    expect(await changed).toEqual({ user: 'leo', device: 'phone' })
    expect((await notice).keyChange).toEqual({ user: 'leo', device: 'phone' })
    const after = await kate.client.safetyNumber('leo')
    expect(after).not.toBe(before)
    expect(await reinstalled.client.safetyNumber('kate')).toBe(after)
    const got = next<ChatMessage>((h) => reinstalled.client.onMessage(h), (m) => m.text !== undefined && m.keyChange === undefined)
    await kate.client.send('leo', 'welcome back')
    expect((await got).text).toBe('welcome back')
  })
})
