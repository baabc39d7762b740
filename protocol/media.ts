import { z } from 'zod'
import { decodeCbor, type CborLimits } from './cbor.js'
import { defineEnvelope } from './envelope.js'
import { LowbandError } from './errors.js'

const bytes = z.custom<Uint8Array>((value) => value instanceof Uint8Array, 'expected bytes')
const uint = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER)
const id = z.string().regex(/^[A-Za-z0-9_.@-]{1,64}$/)

/** Largest inline thumbnail a media message may carry, bytes (the app makes it; the broker only bounds it). */
export const MAX_THUMBNAIL_BYTES = 8 * 1024
/** A SHA-256 digest, bytes. */
export const SHA256_BYTES = 32
/** Random bytes of a media object id: 96 bits, so ids never collide and cannot be guessed. */
export const MEDIA_ID_BYTES = 12

/** `type/subtype` without parameters, as in a Content-Type header; compared in lower case. */
export const mimeSchema = z.string().max(100).regex(/^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*\/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*$/, 'a type/subtype such as image/jpeg')
const sha256 = bytes.refine((b) => b.length === SHA256_BYTES, `must be ${SHA256_BYTES} bytes`)
const mediaId = bytes.refine((b) => b.length >= 8 && b.length <= 32, 'must be 8-32 bytes')

/**
 * The body of a media message (kind 1): a reference to a blob in object storage, never the blob.
 * The object lives under the *sender's* prefix (`m/<from>/<id>`), so the key is not sent: `id` and
 * the message's stamped `from` name it. An envelope of its own, so it can travel as a plain body
 * (the broker checks the object before storing) or inside an end-to-end encrypted body.
 */
export const MediaRef = defineEnvelope({ id: 1, sha256: 2, size: 3, mime: 4, duration: 5, width: 6, height: 7, thumbnail: 8, mediaKey: 9, name: 10 }, z.object({
  /** The object's random id, as the upload slot gave it. */
  id: mediaId,
  /** Of the blob as stored (the encrypted blob when the app encrypts). */
  sha256,
  /** Of the blob as stored, bytes. */
  size: uint,
  mime: mimeSchema,
  /** Voice notes and videos, milliseconds. */
  duration: uint.optional(),
  /** Photos and videos, pixels. */
  width: uint.optional(),
  height: uint.optional(),
  /** A small preview the app made, shown before the download. */
  thumbnail: bytes.refine((b) => b.length <= MAX_THUMBNAIL_BYTES, `at most ${MAX_THUMBNAIL_BYTES} bytes`).optional(),
  /** The key that decrypts the blob, for end-to-end encrypted media (then only inside an encrypted body). */
  mediaKey: bytes.refine((b) => b.length <= 64, 'at most 64 bytes').optional(),
  /** A document's file name, for the recipient to save it under. */
  name: z.string().min(1).max(255).optional()
}))
export type MediaRef = ReturnType<typeof MediaRef.decode>

/**
 * The most structure a MediaRef has: one map of scalars (some byte strings maybe tagged), with
 * room for fields added later. A media body is a device's payload nested in a payload: it is
 * checked like one before it is decoded, or a body of 65 000 empty maps would cost the broker
 * what DEVICE_PAYLOAD_LIMITS keeps the payload around it from costing (issue 12, item 5).
 */
const MEDIA_REF_LIMITS: CborLimits = Object.freeze({ maxDepth: 2, maxEntries: 64, maxContainers: 4, maxItems: 256 })

/** The MediaRef a media message's body carries; BAD_ENVELOPE (or BAD_ENCODING) when it carries none. */
export function decodeMediaBody (body: string | Uint8Array): MediaRef {
  if (typeof body === 'string') throw new LowbandError('BAD_ENVELOPE', 'body: a media message carries a MediaRef, as bytes')
  return MediaRef.fromCbor(decodeCbor(body, MEDIA_REF_LIMITS))
}

/** mediaUpload (op 30): a slot for a blob of this size, type and hash. */
export const MediaUploadArgs = defineEnvelope({ size: 1, mime: 2, sha256: 3 }, z.object({ size: uint.min(1), mime: mimeSchema, sha256 }))
export type MediaUploadArgs = ReturnType<typeof MediaUploadArgs.decode>

/**
 * The answer to mediaUpload and mediaParts. A blob up to the multipart threshold gets one presigned
 * PUT (`url`, sent with `headers` and exactly `size` bytes); a larger one a multipart upload:
 * `uploadId`, `partSize`, and one presigned PUT per part, `null` for parts already stored.
 */
export const MediaUploadSlot = defineEnvelope({ id: 1, url: 2, headers: 3, expires: 4, uploadId: 5, partSize: 6, parts: 7 }, z.object({
  id: mediaId,
  url: z.string().optional(),
  /** Headers the PUT must carry as signed (Content-Type among them); Content-Length comes from the body. */
  headers: z.map(z.string(), z.string()).optional(),
  /** When the URLs stop working, Unix seconds. */
  expires: uint,
  uploadId: z.string().optional(),
  partSize: uint.optional(),
  parts: z.array(z.string().nullable()).optional()
}))
export type MediaUploadSlot = ReturnType<typeof MediaUploadSlot.decode>

/** mediaParts (op 31) and mediaComplete (op 32): a multipart upload of mine, and its whole size. */
export const MediaPartsArgs = defineEnvelope({ id: 1, uploadId: 2, size: 3 }, z.object({ id: mediaId, uploadId: z.string().min(1).max(1024), size: uint.min(1) }))
export type MediaPartsArgs = ReturnType<typeof MediaPartsArgs.decode>

/** mediaDownload (op 33): the media of message `cseq` in my conversation with `peer` (a group when `group`). */
export const MediaDownloadArgs = defineEnvelope({ peer: 1, cseq: 2, group: 3 }, z.object({ peer: id, cseq: uint.min(1), group: z.boolean().optional() }))
export type MediaDownloadArgs = ReturnType<typeof MediaDownloadArgs.decode>

/** A presigned GET, valid until `expires` (Unix seconds). */
export const MediaDownload = defineEnvelope({ url: 1, expires: 2 }, z.object({ url: z.string(), expires: uint }))
export type MediaDownload = ReturnType<typeof MediaDownload.decode>
