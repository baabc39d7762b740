import { randomBytes } from 'node:crypto'
import { CLIENT_MSG_ID_BYTES, encodeSend, InboxMessage, KIND, Receipt, RECEIPT } from '../protocol/envelopes.js'
import { MediaDownloadArgs, MediaRef, MediaUploadArgs, MediaUploadSlot } from '../protocol/media.js'
import { OP, Request, Response } from '../protocol/requests.js'
import { ackTopic, COMMAND, inboxTopic, receiptTopic, responseTopic } from '../protocol/topics.js'
import { startBroker } from './brokers.js'
import { openCountedPair, type Device, type Exchange } from './counted-pair.js'
import { startS3Server } from './s3-server.js'
import { mintTokens } from './tokens.js'

/** The blob of the media figure: a 100 KB photo, as the seeds' typical media item is several of these. */
export const PHOTO_BYTES = 100 * 1024
const PHOTO = { mime: 'image/jpeg', width: 1600, height: 1200 }

export interface MediaBytes {
  /** The blob, bytes: it goes to object storage over HTTP and is not in any figure here. */
  blobBytes: number
  /** The MediaRef the message carries (no thumbnail), bytes. */
  refBytes: number
  /** alice asks for an upload slot (the answer carries a presigned URL). */
  upload: Exchange
  /** alice → bob, the media message, until alice has the delivered receipt. */
  message: Exchange
  /** The message on bob's link: its delivery and bob's PUBACK. Goal ≤ 120 B. */
  recipientLink: number
  /** bob asks for a presigned GET. */
  download: Exchange
}

/**
 * A 100 KB photo, alice → bob, on a broker with object storage (the local S3 server): the slot
 * request, the media message and the download request, each counted at the devices' links.
 */
export async function measureMediaBytes (): Promise<MediaBytes> {
  const s3 = await startS3Server('lowband-bench')
  const broker = await startBroker('lowband', { lowbandOptions: s3.brokerArgs })
  const pair = await openCountedPair(broker.port, await mintTokens(['alice', 'bob']))
  try {
    const { alice, bob } = pair
    const blob = randomBytes(PHOTO_BYTES)
    const sha256 = new Uint8Array(await crypto.subtle.digest('SHA-256', blob))
    let slot: MediaUploadSlot | undefined
    const upload = await pair.exchange(async () => {
      slot = MediaUploadSlot.fromCbor(await request(alice, 'alice', OP.mediaUpload, MediaUploadArgs.toCbor({ size: blob.length, mime: PHOTO.mime, sha256 })))
    })
    const put = await fetch(slot!.url!, { method: 'PUT', body: blob, headers: Object.fromEntries(slot!.headers ?? []) })
    if (!put.ok) throw new Error(`upload to the S3 server failed: HTTP ${put.status}`)
    const ref = MediaRef.encode({ ...PHOTO, id: slot!.id, sha256, size: blob.length })
    let cseq = 0
    const message = await pair.exchange(async () => {
      const stored = alice.mailbox.next((a) => a.topic === ackTopic('alice'))
      const delivered = bob.mailbox.next((a) => a.topic === inboxTopic('bob'))
      const receipt = alice.mailbox.next((a) => a.topic === receiptTopic('alice') && Receipt.decode(a.payload).status === RECEIPT.delivered)
      const send = encodeSend({ clientMsgId: randomBytes(CLIENT_MSG_ID_BYTES), to: 'bob', body: ref, kind: KIND.media })
      await alice.client.publishAsync(send.topic, Buffer.from(send.payload), 1)
      cseq = InboxMessage.decode((await delivered).payload).cseq
      await Promise.all([stored, receipt])
    })
    const download = await pair.exchange(async () => {
      await request(bob, 'bob', OP.mediaDownload, MediaDownloadArgs.toCbor({ peer: 'alice', cseq }))
    })
    return { blobBytes: blob.length, refBytes: ref.length, upload, message, recipientLink: message.recipient.up + message.recipient.down, download }
  } finally {
    await pair.close()
    await broker.stop()
    await s3.stop()
  }
}

/** One request on c/q; resolves with its result, rejects with its coded error. */
async function request (device: Device, user: string, op: number, args: Map<number, unknown>): Promise<unknown> {
  const rid = 1 + Math.floor(Math.random() * 1e9)
  const answer = device.mailbox.next((a) => a.topic === responseTopic(user) && Response.decode(a.payload).rid === rid)
  await device.client.publishAsync(COMMAND.request, Buffer.from(Request.encode({ rid, op, args })), 1)
  const response = Response.decode((await answer).payload)
  if (response.code !== undefined) throw new Error(`request ${op} failed: ${response.code} ${response.detail ?? ''}`)
  return response.result
}
