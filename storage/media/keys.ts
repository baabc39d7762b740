import type { MediaName } from './contract.js'

/** Every media object lives under this prefix, then its owner's: `m/<user>/<id>`. */
export const MEDIA_PREFIX = 'm/'

/** The object key of a media name; the id in base64url (16 characters for 12 bytes). */
export function objectKey (name: MediaName): string {
  return `${MEDIA_PREFIX}${name.owner}/${Buffer.from(name.id).toString('base64url')}`
}

/**
 * The tag an object carries from its upload until a message references it. An S3 lifecycle rule
 * on `lowband=pending` expires orphans without the broker; `lowband media sweep` does the same.
 */
export const REFERENCE_TAG = { key: 'lowband', pending: 'pending', referenced: 'referenced' } as const

/** Blobs above this go up in parts, bytes: a dropped connection then costs one part, not the blob. */
export const MULTIPART_THRESHOLD = 8 * 1024 * 1024
/** Bytes per part: S3's smallest allowed part (all but the last must be at least 5 MiB). */
export const PART_SIZE = 5 * 1024 * 1024

/** Number of parts of a blob of `size` bytes. */
export function partCount (size: number): number {
  return Math.ceil(size / PART_SIZE)
}

/** Bytes of part `number` (1-based) of a blob of `size` bytes. */
export function partLength (size: number, number: number): number {
  return Math.min(PART_SIZE, size - (number - 1) * PART_SIZE)
}
