import { readFile } from 'node:fs/promises'
import mqttPacket from 'mqtt-packet'
import { describe, expect, it } from 'vitest'
import { bundleOf, newDeviceKeys, responderKeys } from '../../clients/sdk/crypto/device-keys.js'
import { encodeInner } from '../../clients/sdk/crypto/inner-message.js'
import { confirmAnnounced, decryptFrom, encryptFor, startSession, type SessionRecord } from '../../clients/sdk/crypto/session-cipher.js'
import { encodeEncryptedBody } from '../../protocol/e2e.js'
import { CLIENT_MSG_ID_BYTES, encodeSend, InboxMessage, KIND } from '../../protocol/envelopes.js'
import { inboxTopic } from '../../protocol/topics.js'

const doc = await readFile(new URL('../../docs/PROTOCOL.md', import.meta.url), 'utf8')

const publishBytes = (topic: string, payload: Uint8Array): number =>
  mqttPacket.generate({ cmd: 'publish', topic, qos: 1, dup: false, retain: false, payload: Buffer.from(payload), messageId: 1 }).length

const row = (n: number): number => {
  const match = doc.match(new RegExp(`^\\| ${n} \\| .* \\| (\\d+) \\|$`, 'm'))
  if (match?.[1] === undefined) throw new Error(`docs/PROTOCOL.md has no byte row ${n}`)
  return Number(match[1])
}

describe('docs/PROTOCOL.md: an encrypted 20-byte text', () => {
  it('states the exact bytes of its packets at each form of header', () => {
    const text = 'x'.repeat(20)
    const ts = Math.floor(Date.now() / 1000)
    const alice = newDeviceKeys()
    const bob = newDeviceKeys()
    const aliceSession = startSession(alice.identity, bundleOf(bob, bob.preKeys[0]![0]))
    let bobSession: SessionRecord | undefined
    const copy = (from: SessionRecord): Uint8Array => {
      const { bytes, announcement } = encryptFor(from, encodeInner({ kind: KIND.text, body: text }))
      if (announcement !== undefined) confirmAnnounced(from, announcement)
      return bytes
    }
    const delivery = (body: Uint8Array): number => publishBytes(inboxTopic('bob'), InboxMessage.encode({ from: 'alice', body, kind: KIND.encrypted, seq: 1, cseq: 1, ts, device: 'phone' }))
    const first = copy(aliceSession)
    bobSession = decryptFrom(undefined, first, responderKeys(bob)).session
    const steady = copy(aliceSession)
    bobSession = decryptFrom(bobSession, steady, responderKeys(bob)).session
    // bob replies; alice's next message starts a new sending chain.
    const afterReply = decryptFrom(aliceSession, copy(bobSession), responderKeys(alice)).session
    const turn = copy(afterReply)

    const send = encodeSend({ clientMsgId: new Uint8Array(CLIENT_MSG_ID_BYTES), to: 'bob', kind: KIND.encrypted, body: encodeEncryptedBody({ copies: new Map([['bob', new Map([['phone', steady]])]]) }) })
    expect(row(13)).toBe(publishBytes(send.topic, send.payload))
    expect(row(14)).toBe(delivery(steady))
    expect(row(15)).toBe(delivery(turn))
    expect(row(16)).toBe(delivery(first))
  })
})
