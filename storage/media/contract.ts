import type { UserId } from '../../protocol/ids.js'

/**
 * One object of media: the blob `id` uploaded by `owner`. Every object lives under its owner's
 * prefix, so a name is always (owner, id) and an adapter builds the key; a device can name only
 * objects of its own user for upload, and a message only objects of its sender.
 */
export interface MediaName {
  readonly owner: UserId
  readonly id: Uint8Array
}

/** What the device declared for a blob it is about to upload. */
export interface NewUpload {
  /** Bytes. */
  readonly size: number
  readonly mime: string
  /** SHA-256 of the blob, 32 bytes. */
  readonly sha256: Uint8Array
}

/**
 * Where and how to upload: one presigned PUT, or a multipart upload with one presigned PUT per part
 * (`null` for a part already stored). `expires` in Unix seconds.
 */
export type UploadSlot =
  | { readonly multipart: false, readonly url: string, readonly headers: ReadonlyMap<string, string>, readonly expires: number }
  | { readonly multipart: true, readonly uploadId: string, readonly partSize: number, readonly parts: ReadonlyArray<string | null>, readonly expires: number }

/** A stored object as the storage reports it. */
export interface StoredMedia {
  /** Bytes. */
  readonly size: number
  /** The SHA-256 declared when its upload slot was made (undefined if the object carries none). */
  readonly sha256?: Uint8Array
}

export interface SweepResult {
  /** Objects old enough to be judged. */
  readonly examined: number
  /** Of those, removed because no message references them. */
  readonly removed: number
}

/**
 * Object storage for media, presigned: blobs go between devices and the storage directly, never
 * through the broker. Outages raise LowbandError STORAGE_UNAVAILABLE; an upload or object that is
 * not there raises MEDIA_MISSING (or resolves undefined where said). Every adapter passes
 * test/media/media-store.contract.ts.
 */
export interface MediaStore {
  /** Blobs larger than this many bytes are uploaded in parts. */
  readonly multipartThreshold: number
  /** A slot for a new blob, signed for exactly its size, type and hash, and tagged pending until referenced. */
  createUpload (name: MediaName, upload: NewUpload): Promise<UploadSlot>
  /** A multipart upload under way: fresh URLs for the parts the storage does not have yet. */
  resumeUpload (name: MediaName, uploadId: string, size: number): Promise<UploadSlot>
  /** Assembles a multipart upload whose parts are all stored; MEDIA_MISSING names a missing part. Completing twice is harmless. */
  completeUpload (name: MediaName, uploadId: string, size: number): Promise<void>
  /** The object, or undefined when there is none. */
  inspect (name: MediaName): Promise<StoredMedia | undefined>
  /** A message references the object now: the orphan sweep and lifecycle rule leave it alone. */
  markReferenced (name: MediaName): Promise<void>
  /** A presigned GET; MEDIA_MISSING when the object is gone. */
  downloadUrl (name: MediaName): Promise<{ url: string, expires: number }>
  /** Removes objects older than `minAgeMs` that no message references. */
  sweep (minAgeMs: number): Promise<SweepResult>
}
