import { randomBytes } from 'node:crypto'
import { KIND, type Body } from '../../protocol/envelopes.js'
import { LowbandError } from '../../protocol/errors.js'
import type { UserId } from '../../protocol/ids.js'
import { decodeMediaBody, MEDIA_ID_BYTES, MediaDownload, MediaDownloadArgs, MediaPartsArgs, MediaUploadArgs, MediaUploadSlot } from '../../protocol/media.js'
import { OP } from '../../protocol/requests.js'
import type { UploadSlot } from '../../storage/media/contract.js'
import type { HookContext, Identity, MediaContext } from '../context.js'
import { groupOfMember } from '../groups.js'

type Handler = (ctx: HookContext, identity: Identity, args: unknown) => Promise<unknown>

function mediaOf (ctx: HookContext): MediaContext {
  if (ctx.media === undefined) throw new LowbandError('MEDIA_NOT_CONFIGURED')
  return ctx.media
}

function requireSize (media: MediaContext, size: number): void {
  if (size > media.maxBytes) throw new LowbandError('TOO_LARGE', `${size} > ${media.maxBytes} bytes of media`)
}

function requireType (media: MediaContext, mime: string): void {
  const type = mime.toLowerCase()
  const allowed = media.types.some((t) => t === '*/*' || t === type || (t.endsWith('/*') && type.startsWith(t.slice(0, -1))))
  if (!allowed) throw new LowbandError('MEDIA_TYPE_REFUSED', mime)
}

function slotResult (id: Uint8Array, slot: UploadSlot): Map<number, unknown> {
  return MediaUploadSlot.toCbor(slot.multipart
    ? { id, expires: slot.expires, uploadId: slot.uploadId, partSize: slot.partSize, parts: [...slot.parts] }
    : { id, expires: slot.expires, url: slot.url, headers: new Map(slot.headers) })
}

/**
 * Media over request/response: upload slots (presigned PUTs, or a multipart upload for large
 * blobs), resuming and completing a multipart upload, and presigned GETs for a conversation's
 * members. Blobs go between the device and the storage; the broker only signs.
 */
export const mediaHandlers = new Map<number, Handler>([
  [OP.mediaUpload, async (ctx, identity, args) => {
    const media = mediaOf(ctx)
    const { size, mime, sha256 } = MediaUploadArgs.fromCbor(args)
    requireSize(media, size)
    requireType(media, mime)
    // A random id under the uploader's own prefix: a slot can only ever name the uploader's objects.
    const id = randomBytes(MEDIA_ID_BYTES)
    return slotResult(id, await media.store.createUpload({ owner: identity.userId, id }, { size, mime, sha256 }))
  }],
  [OP.mediaParts, async (ctx, identity, args) => {
    const media = mediaOf(ctx)
    const { id, uploadId, size } = MediaPartsArgs.fromCbor(args)
    requireSize(media, size)
    return slotResult(id, await media.store.resumeUpload({ owner: identity.userId, id }, uploadId, size))
  }],
  [OP.mediaComplete, async (ctx, identity, args) => {
    const media = mediaOf(ctx)
    const { id, uploadId, size } = MediaPartsArgs.fromCbor(args)
    requireSize(media, size)
    await media.store.completeUpload({ owner: identity.userId, id }, uploadId, size)
    return undefined
  }],
  [OP.mediaDownload, async (ctx, identity, args) => {
    const media = mediaOf(ctx)
    const { peer, cseq, group = false } = MediaDownloadArgs.fromCbor(args)
    // Only members may fetch: a 1:1 conversation is always named from the requester's side, so
    // it is theirs by construction; a group's non-members get NOT_MEMBER.
    if (group) await groupOfMember(ctx, peer, identity.userId)
    const page = await ctx.storage.messages.history(identity.userId, peer, cseq + 1, 1, group)
    const message = page.items[0]?.message
    if (message?.cseq !== cseq || message.kind !== KIND.media) throw new LowbandError('MEDIA_MISSING', `no media message ${cseq} in this conversation`)
    const ref = decodeMediaBody(message.body)
    return MediaDownload.toCbor(await media.store.downloadUrl({ owner: message.from, id: ref.id }))
  }]
])

/**
 * Before a media message is stored: its object exists under the *sender's* prefix, whole, with
 * the declared size (and the sha256 declared for its upload slot). Then it is marked referenced,
 * so the orphan sweep leaves it. Otherwise MEDIA_MISSING or TOO_LARGE, and nothing is stored.
 */
export async function checkMediaMessage (ctx: HookContext, sender: UserId, body: Body): Promise<void> {
  const media = mediaOf(ctx)
  const ref = decodeMediaBody(body)
  requireSize(media, ref.size)
  const name = { owner: sender, id: ref.id }
  const stored = await media.store.inspect(name)
  if (stored === undefined) throw new LowbandError('MEDIA_MISSING', 'no such object under your prefix')
  requireSize(media, stored.size)
  if (stored.size !== ref.size) throw new LowbandError('MEDIA_MISSING', `the object has ${stored.size} bytes, the message says ${ref.size}`)
  if (stored.sha256 !== undefined && !Buffer.from(stored.sha256).equals(ref.sha256)) throw new LowbandError('MEDIA_MISSING', 'the sha256 differs from the one its upload was signed for')
  await media.store.markReferenced(name)
}
