import { readFile } from 'node:fs/promises'
import mqttPacket from 'mqtt-packet'
import { describe, expect, it } from 'vitest'
import { CLIENT_MSG_ID_BYTES, encodeSend, InboxMessage, KIND, StoredAck } from '../../protocol/envelopes.js'
import { inboxTopic } from '../../protocol/topics.js'
import { MediaDownloadArgs, MediaRef, MediaUploadArgs } from '../../protocol/media.js'
import { Request } from '../../protocol/requests.js'

const doc = await readFile(new URL('../../docs/PROTOCOL.md', import.meta.url), 'utf8')

const publishBytes = (topic: string, qos: 0 | 1, payload: Uint8Array): number =>
  mqttPacket.generate({ cmd: 'publish', topic, qos, dup: false, retain: false, payload: Buffer.from(payload), ...(qos > 0 ? { messageId: 1 } : {}) }).length
const PUBACK = 4

const row = (label: string): number => {
  const match = doc.match(new RegExp(`^\\| ${label} \\| .* \\| (\\d+) \\|$`, 'm'))
  if (match?.[1] === undefined) throw new Error(`docs/PROTOCOL.md has no byte row ${label}`)
  return Number(match[1])
}

describe('docs/PROTOCOL.md: media', () => {
  const photo = { id: new Uint8Array(12), sha256: new Uint8Array(32), size: 102_400, mime: 'image/jpeg', width: 1600, height: 1200 }
  const ts = Math.floor(Date.now() / 1000)
  const clientMsgId = new Uint8Array(CLIENT_MSG_ID_BYTES)
  const inbox = (ref: MediaRef): number => publishBytes(inboxTopic('bob'), 1, InboxMessage.encode({ from: 'alice', body: MediaRef.encode(ref), kind: KIND.media, seq: 1, cseq: 1, ts }))

  it('states the exact bytes of a media message, within 120 on the recipient link', () => {
    const body = MediaRef.encode(photo)
    expect(doc).toContain(`a ${body.length}-byte MediaRef as body`)
    const send = encodeSend({ clientMsgId, to: 'bob', body, kind: KIND.media })
    expect(row('m1')).toBe(publishBytes(send.topic, 1, send.payload))
    expect(row('m2')).toBe(publishBytes('u/alice/a', 0, StoredAck.encode({ clientMsgId, seq: 1, cseq: 1 })) + PUBACK)
    expect(row('m3')).toBe(inbox(photo))
    expect(row('m4')).toBe(PUBACK)
    const { width: _w, height: _h, ...plain } = photo
    expect(doc).toContain(`a ${MediaRef.encode(plain).length}-byte MediaRef): m3 + m4`)
    expect(row('m5')).toBe(inbox(plain) + PUBACK)
    expect(doc).toContain(`carries **${row('m3') + row('m4')} bytes**`)
    expect(row('m3') + row('m4')).toBeLessThanOrEqual(120)
  })

  it('states the size of the media requests', () => {
    const upload = publishBytes('c/q', 1, Request.encode({ rid: 1, op: 30, args: MediaUploadArgs.toCbor({ size: 102_400, mime: 'image/jpeg', sha256: new Uint8Array(32) }) }))
    const download = publishBytes('c/q', 1, Request.encode({ rid: 1, op: 33, args: MediaDownloadArgs.toCbor({ peer: 'alice', cseq: 1 }) }))
    expect(doc).toContain(`\`mediaUpload\` is a ${upload}-byte PUBLISH`)
    expect(doc).toContain(`\`mediaDownload\` ${download} bytes`)
  })
})
