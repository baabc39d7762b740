import { readFile } from 'node:fs/promises'
import mqttPacket from 'mqtt-packet'
import { describe, expect, it } from 'vitest'
import { CLIENT_MSG_ID_BYTES, encodeSend, InboxMessage, PresenceUpdate, ReadWatermark, Receipt, StoredAck, TypingNotice, TypingSignal } from '../../protocol/envelopes.js'
import { inboxTopic } from '../../protocol/topics.js'
import { ERROR_CODES, type ErrorName } from '../../protocol/errors.js'

const doc = await readFile(new URL('../../docs/PROTOCOL.md', import.meta.url), 'utf8')

const publishBytes = (topic: string, qos: 0 | 1, payload: Uint8Array): number =>
  mqttPacket.generate({ cmd: 'publish', topic, qos, dup: false, retain: false, payload: Buffer.from(payload), ...(qos > 0 ? { messageId: 1 } : {}) }).length

const row = (n: number): number => {
  const match = doc.match(new RegExp(`^\\| ${n} \\| .* \\| (\\d+) \\|$`, 'm'))
  if (match?.[1] === undefined) throw new Error(`docs/PROTOCOL.md has no byte row ${n}`)
  return Number(match[1])
}

describe('docs/PROTOCOL.md', () => {
  it('documents every error code with its number', () => {
    for (const name of Object.keys(ERROR_CODES) as ErrorName[]) {
      expect(doc, name).toMatch(new RegExp(`^\\| ${ERROR_CODES[name].code} \\| ${name} \\|`, 'm'))
    }
  })

  it('states the exact bytes of every packet of a 20-byte text message', () => {
    const text = 'x'.repeat(20)
    const clientMsgId = new Uint8Array(CLIENT_MSG_ID_BYTES)
    const ts = Math.floor(Date.now() / 1000)
    const send = encodeSend({ clientMsgId, to: 'bob', body: text })
    expect(send.topic).toBe('s/bob')
    expect(row(1)).toBe(publishBytes(send.topic, 1, send.payload))
    expect(row(2)).toBe(publishBytes('u/alice/a', 0, StoredAck.encode({ clientMsgId, seq: 1, cseq: 1 })))
    expect(row(3)).toBe(mqttPacket.generate({ cmd: 'puback', messageId: 1 }).length)
    expect(row(4)).toBe(publishBytes(inboxTopic('bob'), 1, InboxMessage.encode({ from: 'alice', body: text, seq: 1, cseq: 1, ts })))
    expect(row(5)).toBe(4)
  })

  it('states the bytes of a message for each client message id length it weighs', () => {
    const text = 'x'.repeat(20)
    const ts = Math.floor(Date.now() / 1000)
    const rows = [...doc.matchAll(/^\| (\d+) random bytes[^|]*\| (\d+) \| (\d+) \| (\d+) \|/gm)]
    expect(rows.map((r) => Number(r[1]))).toEqual([8, 7, 6, 4])
    expect(doc).toMatch(new RegExp(`^\\| ${CLIENT_MSG_ID_BYTES} random bytes \\(the SDK's\\)`, 'm'))
    for (const [, length, send, ack, total] of rows) {
      const clientMsgId = new Uint8Array(Number(length))
      const direct = encodeSend({ clientMsgId, to: 'bob', body: text })
      const sendBytes = publishBytes(direct.topic, 1, direct.payload)
      const ackBytes = publishBytes('u/alice/a', 0, StoredAck.encode({ clientMsgId, seq: 1, cseq: 1 }))
      const rest = 4 + publishBytes(inboxTopic('bob'), 1, InboxMessage.encode({ from: 'alice', body: text, seq: 1, cseq: 1, ts })) + 4 +
        publishBytes('u/alice/r', 0, Receipt.encode({ seq: 2, peer: 'bob', status: 1, cseq: 1, ts }))
      expect([Number(send), Number(ack), Number(total)], `${length} bytes`).toEqual([sendBytes, ackBytes, sendBytes + ackBytes + rest])
    }
  })

  it('states the exact bytes of receipts, a watermark, typing and presence', () => {
    const ts = Math.floor(Date.now() / 1000)
    expect(row(6)).toBe(publishBytes('u/alice/r', 0, Receipt.encode({ seq: 5, peer: 'bob', status: 1, cseq: 1, ts })))
    expect(row(7)).toBe(publishBytes('c/d', 1, ReadWatermark.encode({ peer: 'alice', cseq: 1 })))
    expect(row(8)).toBe(publishBytes('u/alice/r', 0, Receipt.encode({ seq: 6, peer: 'bob', status: 2, cseq: 1, ts })))
    expect(row(9)).toBe(publishBytes('c/t', 0, TypingSignal.encode({ to: 'bob', state: 1 })))
    expect(row(10)).toBe(publishBytes('u/bob/t', 0, TypingNotice.encode({ from: 'alice', state: 1 })))
    expect(row(11)).toBe(publishBytes('u/carol/p/alice', 0, PresenceUpdate.encode({ online: true })))
    expect(row(12)).toBe(publishBytes('u/carol/p/alice', 0, PresenceUpdate.encode({ online: false, lastSeen: ts })))
  })
})
