import {
  CompleteMultipartUploadCommand, CreateMultipartUploadCommand, DeleteObjectCommand, GetObjectCommand, GetObjectTaggingCommand,
  HeadBucketCommand, HeadObjectCommand, ListObjectsV2Command, ListPartsCommand, PutObjectCommand, PutObjectTaggingCommand,
  S3Client, UploadPartCommand, type Part
} from '@aws-sdk/client-s3'
import { getSignedUrl } from '@aws-sdk/s3-request-presigner'
import { LowbandError } from '../../protocol/errors.js'
import type { MediaName, MediaStore, NewUpload, StoredMedia, SweepResult, UploadSlot } from './contract.js'
import { MEDIA_PREFIX, MULTIPART_THRESHOLD, objectKey, PART_SIZE, partCount, partLength, REFERENCE_TAG } from './keys.js'
import type { OutageLog } from './outage.js'

export interface S3MediaOptions {
  /** Made with `requestChecksumCalculation: 'WHEN_REQUIRED'` (see createS3Client). */
  readonly client: S3Client
  readonly bucket: string
  /** How long a presigned URL works, seconds. */
  readonly urlTtlSeconds: number
  readonly outages: OutageLog
  /** Milliseconds. */
  readonly now: () => number
}

/** Signed, not hoisted into the query: S3 ignores a hoisted x-amz-tagging, and checksums belong in headers. */
const UNHOISTABLE = new Set(['x-amz-tagging', 'x-amz-checksum-sha256'])
/** The presigner leaves Content-Type unsigned by default; signing it and the length pins the slot to what was declared. */
const SIGNED = new Set(['content-type', 'content-length'])
/** A part has no type of its own (the upload's was set when it was created): only its length is pinned. */
const SIGNED_PART = new Set(['content-length'])
const PENDING_TAGGING = `${REFERENCE_TAG.key}=${REFERENCE_TAG.pending}`

/**
 * Media on any S3 API (AWS S3, MinIO, Ceph RGW, R2): presigned PUTs and GETs, multipart uploads
 * for large blobs, HEAD before a message may reference an object, tags for the orphan sweep.
 */
export class S3MediaStore implements MediaStore {
  readonly multipartThreshold = MULTIPART_THRESHOLD
  readonly #client: S3Client
  readonly #bucket: string
  readonly #ttl: number
  readonly #outages: OutageLog
  readonly #now: () => number

  constructor (options: S3MediaOptions) {
    this.#client = options.client
    this.#bucket = options.bucket
    this.#ttl = options.urlTtlSeconds
    this.#outages = options.outages
    this.#now = options.now
  }

  async createUpload (name: MediaName, upload: NewUpload): Promise<UploadSlot> {
    const Key = objectKey(name)
    const Metadata = { sha256: Buffer.from(upload.sha256).toString('hex') }
    if (upload.size > MULTIPART_THRESHOLD) {
      const created = await this.#call(() => this.#client.send(new CreateMultipartUploadCommand({
        Bucket: this.#bucket, Key, ContentType: upload.mime, Metadata, Tagging: PENDING_TAGGING
      })))
      return this.#partsSlot(Key, created.UploadId!, upload.size, new Set())
    }
    // Presigning is local: ask the storage once so an outage is a coded answer now, not a failed upload later.
    await this.#call(() => this.#client.send(new HeadBucketCommand({ Bucket: this.#bucket })))
    const checksum = Buffer.from(upload.sha256).toString('base64')
    const url = await getSignedUrl(this.#client, new PutObjectCommand({
      Bucket: this.#bucket,
      Key,
      ContentLength: upload.size,
      ContentType: upload.mime,
      Metadata,
      Tagging: PENDING_TAGGING,
      // Real S3 and MinIO check the body against it, so a slot cannot store other bytes than declared.
      ChecksumSHA256: checksum
    }), { expiresIn: this.#ttl, signableHeaders: SIGNED, unhoistableHeaders: UNHOISTABLE })
    const headers = new Map([
      ['content-type', upload.mime],
      ['x-amz-tagging', PENDING_TAGGING],
      ['x-amz-checksum-sha256', checksum]
    ])
    return { multipart: false, url, headers, expires: this.#expires() }
  }

  async resumeUpload (name: MediaName, uploadId: string, size: number): Promise<UploadSlot> {
    const Key = objectKey(name)
    const stored = await this.#storedParts(Key, uploadId)
    const done = new Set(stored.filter((p) => p.Size === partLength(size, p.PartNumber!)).map((p) => p.PartNumber!))
    return this.#partsSlot(Key, uploadId, size, done)
  }

  async completeUpload (name: MediaName, uploadId: string, size: number): Promise<void> {
    const Key = objectKey(name)
    const listed = await this.#storedParts(Key, uploadId).catch(async (error: unknown) => {
      // Completed already (a repeated request whose first answer was lost): the object is there, whole.
      if (error instanceof LowbandError && error.errorName === 'MEDIA_MISSING' && (await this.inspect(name))?.size === size) return undefined
      throw error
    })
    if (listed === undefined) return
    const stored = new Map(listed.map((p) => [p.PartNumber!, p]))
    const parts: Array<{ PartNumber: number, ETag: string }> = []
    for (let number = 1; number <= partCount(size); number++) {
      const part = stored.get(number)
      if (part?.Size !== partLength(size, number)) throw new LowbandError('MEDIA_MISSING', `part ${number} of ${partCount(size)} is not stored`)
      parts.push({ PartNumber: number, ETag: part.ETag! })
    }
    await this.#call(() => this.#client.send(new CompleteMultipartUploadCommand({ Bucket: this.#bucket, Key, UploadId: uploadId, MultipartUpload: { Parts: parts } })))
  }

  async inspect (name: MediaName): Promise<StoredMedia | undefined> {
    const head = await this.#call(() => this.#client.send(new HeadObjectCommand({ Bucket: this.#bucket, Key: objectKey(name) })), true)
    if (head === undefined) return undefined
    const sha256 = head.Metadata?.sha256
    return { size: head.ContentLength ?? 0, ...(sha256 === undefined ? {} : { sha256: Buffer.from(sha256, 'hex') }) }
  }

  async markReferenced (name: MediaName): Promise<void> {
    await this.#call(() => this.#client.send(new PutObjectTaggingCommand({
      Bucket: this.#bucket, Key: objectKey(name), Tagging: { TagSet: [{ Key: REFERENCE_TAG.key, Value: REFERENCE_TAG.referenced }] }
    })))
  }

  async downloadUrl (name: MediaName): Promise<{ url: string, expires: number }> {
    const Key = objectKey(name)
    // A swept or deleted object gets a coded answer rather than a URL that fails on a 2G link.
    if (await this.inspect(name) === undefined) throw new LowbandError('MEDIA_MISSING', 'the object is gone')
    const url = await getSignedUrl(this.#client, new GetObjectCommand({ Bucket: this.#bucket, Key }), { expiresIn: this.#ttl })
    return { url, expires: this.#expires() }
  }

  async sweep (minAgeMs: number): Promise<SweepResult> {
    const cutoff = this.#now() - minAgeMs
    let examined = 0
    let removed = 0
    let ContinuationToken: string | undefined
    do {
      const page = await this.#call(() => this.#client.send(new ListObjectsV2Command({ Bucket: this.#bucket, Prefix: MEDIA_PREFIX, ContinuationToken })))
      for (const object of page.Contents ?? []) {
        if (object.Key === undefined || (object.LastModified?.getTime() ?? 0) > cutoff) continue
        examined++
        const tags = await this.#call(() => this.#client.send(new GetObjectTaggingCommand({ Bucket: this.#bucket, Key: object.Key })), true)
        const referenced = tags?.TagSet?.some((t) => t.Key === REFERENCE_TAG.key && t.Value === REFERENCE_TAG.referenced) === true
        if (tags === undefined || referenced) continue
        await this.#call(() => this.#client.send(new DeleteObjectCommand({ Bucket: this.#bucket, Key: object.Key })))
        removed++
      }
      ContinuationToken = page.IsTruncated === true ? page.NextContinuationToken : undefined
    } while (ContinuationToken !== undefined)
    return { examined, removed }
  }

  async #partsSlot (Key: string, uploadId: string, size: number, done: ReadonlySet<number>): Promise<UploadSlot> {
    const parts: Array<string | null> = []
    for (let number = 1; number <= partCount(size); number++) {
      parts.push(done.has(number)
        ? null
        : await getSignedUrl(this.#client, new UploadPartCommand({ Bucket: this.#bucket, Key, UploadId: uploadId, PartNumber: number, ContentLength: partLength(size, number) }),
          { expiresIn: this.#ttl, signableHeaders: SIGNED_PART }))
    }
    return { multipart: true, uploadId, partSize: PART_SIZE, parts, expires: this.#expires() }
  }

  /** Parts the storage holds, all pages; an unknown upload is MEDIA_MISSING. */
  async #storedParts (Key: string, UploadId: string): Promise<Part[]> {
    const parts: Part[] = []
    let PartNumberMarker: string | undefined
    do {
      const page = await this.#call(() => this.#client.send(new ListPartsCommand({ Bucket: this.#bucket, Key, UploadId, PartNumberMarker })), true)
      if (page === undefined) throw new LowbandError('MEDIA_MISSING', 'no such upload')
      parts.push(...page.Parts ?? [])
      PartNumberMarker = page.IsTruncated === true ? page.NextPartNumberMarker : undefined
    } while (PartNumberMarker !== undefined)
    return parts
  }

  #expires (): number {
    return Math.floor(this.#now() / 1000) + this.#ttl
  }

  /**
   * Runs one storage call: "not found" resolves undefined where `missingIsAnswer`; any other failure
   * is an outage (logged once by the outage log) and STORAGE_UNAVAILABLE for the device.
   */
  async #call<T> (work: () => Promise<T>, missingIsAnswer: true): Promise<T | undefined>
  async #call<T> (work: () => Promise<T>, missingIsAnswer?: false): Promise<T>
  async #call<T> (work: () => Promise<T>, missingIsAnswer = false): Promise<T | undefined> {
    try {
      const result = await work()
      this.#outages.answered()
      return result
    } catch (error) {
      if (isNotFound(error)) {
        this.#outages.answered()
        if (missingIsAnswer) return undefined
        throw new LowbandError('MEDIA_MISSING', undefined, { cause: error })
      }
      this.#outages.failed(error)
      throw new LowbandError('STORAGE_UNAVAILABLE', undefined, { cause: error })
    }
  }
}

/** The storage answered that the object or upload does not exist. */
function isNotFound (error: unknown): boolean {
  const status = (error as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode
  const name = (error as { name?: string })?.name
  return status === 404 || name === 'NotFound' || name === 'NoSuchKey' || name === 'NoSuchUpload'
}
