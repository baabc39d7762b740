import { describe, expect, it } from 'vitest'
import { bundleOf, newDeviceKeys, responderKeys, usePreKey, type DeviceKeys } from '../../clients/sdk/crypto/device-keys.js'
import { MESSAGE_TYPE } from '../../clients/sdk/crypto/pairwise-message.js'
import { utf8 } from '../../clients/sdk/crypto/primitives.js'
import { confirmAnnounced, decryptFrom, encryptFor, startSession, type SessionRecord } from '../../clients/sdk/crypto/session-cipher.js'
import { distributionOf, groupDecrypt, groupEncrypt, newSenderKey, peerKeyOf } from '../../clients/sdk/crypto/sender-keys.js'
import { MAX_SKIP } from '../../clients/sdk/crypto/ratchet.js'
import { LowbandError } from '../../protocol/errors.js'
import { KIND } from '../../protocol/envelopes.js'
import { decodeInner, encodeInner } from '../../clients/sdk/crypto/inner-message.js'

const text = (bytes: Uint8Array): string => new TextDecoder().decode(bytes)

/** One side of a pairwise session, holding its keys and its record of the other device. */
class Side {
  session: SessionRecord | undefined
  constructor (readonly keys: DeviceKeys) {}

  send (message: string, stored = true): Uint8Array {
    const { bytes, announcement } = encryptFor(this.session!, utf8(message))
    if (stored && announcement !== undefined) confirmAnnounced(this.session!, announcement)
    return bytes
  }

  receive (bytes: Uint8Array): string {
    const { plaintext, session, usedPreKey } = decryptFrom(this.session, bytes, responderKeys(this.keys))
    this.session = session
    if (usedPreKey !== undefined) usePreKey(this.keys, usedPreKey)
    return text(plaintext)
  }
}

function pair (): { alice: Side, bob: Side } {
  const alice = new Side(newDeviceKeys())
  const bob = new Side(newDeviceKeys())
  alice.session = startSession(alice.keys.identity, bundleOf(bob.keys, bob.keys.preKeys[0]![0]))
  return { alice, bob }
}

const undecryptable = (work: () => unknown): void => {
  expect(work).toThrow(LowbandError)
  try { work() } catch (error) { expect((error as LowbandError).errorName).toMatch(/UNDECRYPTABLE|BAD_KEYS/) }
}

describe('X3DH and the Double Ratchet', () => {
  it('a session both ways: the first message carries X3DH, then one byte names the chain', () => {
    const { alice, bob } = pair()
    const first = alice.send('hello bob')
    expect(first[0]).toBe(MESSAGE_TYPE.preKey)
    expect(bob.receive(first)).toBe('hello bob')
    const second = alice.send('still me')
    expect(second[0]).toBe(MESSAGE_TYPE.compact)
    expect(bob.receive(second)).toBe('still me')
    const reply = bob.send('hi alice')
    expect(reply[0]).toBe(MESSAGE_TYPE.full)
    expect(alice.receive(reply)).toBe('hi alice')
    for (let i = 0; i < 5; i++) {
      expect(bob.receive(alice.send(`ping ${i}`))).toBe(`ping ${i}`)
      expect(alice.receive(bob.send(`pong ${i}`))).toBe(`pong ${i}`)
    }
  })

  it('the one-time prekey is used up: a replay of the first message cannot open a second session', () => {
    const { alice, bob } = pair()
    const first = alice.send('once')
    expect(bob.receive(first)).toBe('once')
    const fresh = new Side(bob.keys)
    undecryptable(() => fresh.receive(first))
  })

  it('keeps the X3DH prefix and the full key on every message until one carrying them is stored', () => {
    const { alice, bob } = pair()
    const a = alice.send('a', false)
    const b = alice.send('b', false)
    expect(a[0]).toBe(MESSAGE_TYPE.preKey)
    expect(b[0]).toBe(MESSAGE_TYPE.preKey)
    // The first was refused (never stored): the second alone opens the session.
    expect(bob.receive(b)).toBe('b')
  })

  it('decrypts out-of-order and lost messages within the skipped-key window', () => {
    const { alice, bob } = pair()
    expect(bob.receive(alice.send('0'))).toBe('0')
    const burst = Array.from({ length: 6 }, (_, i) => alice.send(`m${i + 1}`))
    expect(bob.receive(burst[3]!)).toBe('m4')
    expect(bob.receive(burst[0]!)).toBe('m1')
    expect(bob.receive(burst[5]!)).toBe('m6')
    expect(bob.receive(burst[2]!)).toBe('m3')
    // m2 and m5 are lost; the conversation goes on both ways.
    expect(alice.receive(bob.send('got most'))).toBe('got most')
    expect(bob.receive(alice.send('next'))).toBe('next')
    // A late m5 from the old chain still opens with its skipped key; a replay of m4 does not.
    expect(bob.receive(burst[4]!)).toBe('m5')
    undecryptable(() => bob.receive(burst[3]!))
  })

  it('refuses a gap wider than MAX_SKIP, and a tampered message, without changing the session', () => {
    const { alice, bob } = pair()
    expect(bob.receive(alice.send('0'))).toBe('0')
    const tampered = alice.send('secret')
    tampered[tampered.length - 1]! ^= 1
    undecryptable(() => bob.receive(tampered))
    for (let i = 0; i <= MAX_SKIP; i++) alice.send(`skip ${i}`)
    undecryptable(() => bob.receive(alice.send('too far')))
    // Still in step for what it can read: a reply and its answer.
    expect(alice.receive(bob.send('ok?'))).toBe('ok?')
  })

  it('carries any message kind inside: a media message with its media key is opaque outside', () => {
    const { alice, bob } = pair()
    const media = new Uint8Array([0xa1, 0x01, 0x58, 0x20, ...new Uint8Array(32).fill(7)])
    const { bytes } = encryptFor(alice.session!, encodeInner({ kind: KIND.media, body: media }))
    expect(Buffer.from(bytes).includes(Buffer.from(new Uint8Array(32).fill(7)))).toBe(false)
    const { plaintext } = decryptFrom(bob.session, bytes, responderKeys(bob.keys))
    expect(decodeInner(plaintext)).toEqual({ kind: KIND.media, body: media })
  })

  it('a lost session gets UNDECRYPTABLE, and a new session works again', () => {
    const { alice, bob } = pair()
    expect(bob.receive(alice.send('0'))).toBe('0')
    bob.session = undefined
    undecryptable(() => bob.receive(alice.send('after the loss')))
    alice.session = startSession(alice.keys.identity, bundleOf(bob.keys, bob.keys.preKeys[0]![0]))
    expect(bob.receive(alice.send('again'))).toBe('again')
  })
})

describe('sender keys', () => {
  it('one ciphertext for all; a late or lost message decrypts; a new key after a removal locks the removed member out', () => {
    const context = 'g1/alice/phone'
    const own = newSenderKey()
    let bob = peerKeyOf(distributionOf(own))
    const carol = peerKeyOf(distributionOf(own))
    const m1 = groupEncrypt(own, utf8('one'), context)
    const m2 = groupEncrypt(own, utf8('two'), context)
    const m3 = groupEncrypt(own, utf8('three'), context)
    let out = groupDecrypt(bob, m3, context)
    expect(text(out.plaintext)).toBe('three')
    bob = out.key
    out = groupDecrypt(bob, m1, context)
    expect(text(out.plaintext)).toBe('one')
    bob = out.key
    expect(text(groupDecrypt(carol, m2, context).plaintext)).toBe('two')
    expect(() => groupDecrypt(bob, m1, context)).toThrow(LowbandError)
    expect(() => groupDecrypt(bob, m2, 'g2/alice/phone')).toThrow(LowbandError)
    // carol is removed: alice makes a new key and gives it to bob only.
    const rotated = newSenderKey()
    const bobNew = peerKeyOf(distributionOf(rotated))
    const after = groupEncrypt(rotated, utf8('without carol'), context)
    expect(text(groupDecrypt(bobNew, after, context).plaintext)).toBe('without carol')
    expect(() => groupDecrypt(carol, after, context)).toThrow(LowbandError)
  })

  it('refuses a message signed by another member', () => {
    const context = 'g1/alice/phone'
    const own = newSenderKey()
    const peer = peerKeyOf(distributionOf(own))
    const forged = groupEncrypt({ ...own, signing: newSenderKey().signing }, utf8('fake'), context)
    expect(() => groupDecrypt(peer, forged, context)).toThrow(LowbandError)
  })
})
