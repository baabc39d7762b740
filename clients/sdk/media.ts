import { LowbandError } from '../../protocol/errors.js'
import { MediaDownload, MediaDownloadArgs, MediaPartsArgs, MediaRef, MediaUploadArgs, MediaUploadSlot, MAX_THUMBNAIL_BYTES } from '../../protocol/media.js'
import { Backoff, type BackoffOptions } from './backoff.js'
import { sleep, type Clock } from './clock.js'
import { peerOf, type Conversation } from './conversation.js'
import type { Requests } from './requests.js'

/**
 * The part of WHATWG fetch the SDK uses for blobs (global `fetch` in browsers, React Native and
 * Node 18+): injectable, so an app can bring its own HTTP stack and tests can watch the transfers.
 */
export type MediaFetch = (url: string, init: { method: 'PUT' | 'GET', headers?: Record<string, string>, body?: Uint8Array }) =>
  Promise<{ ok: boolean, status: number, arrayBuffer (): Promise<ArrayBuffer> }>

/** What the app says about a blob it sends; the SDK adds its id, size and sha256. */
export interface MediaOptions {
  /** `type/subtype`, e.g. image/jpeg, audio/ogg, application/pdf. */
  mime: string
  /** A small preview the app made (at most 8 KiB), shown before the download. */
  thumbnail?: Uint8Array
  /** Voice notes and videos, ms. */
  duration?: number
  width?: number
  height?: number
  /** A document's file name. */
  name?: string
  /** For end-to-end encrypted media: the key of the (already encrypted) blob. */
  mediaKey?: Uint8Array
}

export interface MediaTransferOptions {
  readonly fetch: MediaFetch
  readonly clock: Clock
  readonly random: () => number
  readonly backoff: Required<BackoffOptions>
  /** Tries per blob (a multipart upload resumes from its stored parts on each). */
  readonly attempts: number
}

/** A blob transfer failed at the storage (HTTP status, or none when the connection broke). */
export class MediaTransferError extends Error {
  readonly status: number | undefined

  constructor (what: string, status?: number, options?: { cause?: unknown }) {
    super(`${what} failed${status === undefined ? ': connection lost' : `: HTTP ${status}`}`, options)
    this.name = 'MediaTransferError'
    this.status = status
  }

  /** A broken connection or a server-side failure may pass; a refusal (403: signature, expiry) will not with the same URL. */
  get retryable (): boolean {
    return this.status === undefined || this.status >= 500 || this.status === 408 || this.status === 429
  }
}

/**
 * Blobs between the device and object storage, never through the broker: the broker signs upload
 * and download URLs on request, the SDK moves the bytes with fetch and checks their SHA-256 with
 * WebCrypto. Large blobs go in parts; after a broken connection an upload asks the broker which
 * parts the storage holds and sends only the others, so it never starts again from zero.
 */
export class MediaTransfer {
  readonly #requests: Requests
  readonly #options: MediaTransferOptions

  constructor (requests: Requests, options: MediaTransferOptions) {
    this.#requests = requests
    this.#options = options
  }

  /** Uploads `bytes` and returns the MediaRef a media message carries. */
  async upload (bytes: Uint8Array, options: MediaOptions): Promise<MediaRef> {
    // Validated before anything goes out (a bad type, an oversized thumbnail); the real id comes with the slot.
    const ref = MediaRef.fromCbor(MediaRef.toCbor({ ...describe(options), id: new Uint8Array(8), sha256: await sha256(bytes), size: bytes.length }))
    const slot = MediaUploadSlot.fromCbor(await this.#requests.request('mediaUpload', MediaUploadArgs.toCbor({ size: ref.size, mime: ref.mime, sha256: ref.sha256 })))
    if (slot.url !== undefined) {
      const { url, headers } = slot
      await this.#retrying(async () => this.#put(url, bytes, Object.fromEntries(headers ?? [])), transient)
    } else {
      await this.#uploadParts(slot, bytes)
    }
    return { ...ref, id: slot.id }
  }

  /**
   * Downloads the blob of message `cseq` of `conversation` and checks it against the sha256 and
   * size `ref` declares; a mismatch is MEDIA_CORRUPT and the bytes are dropped.
   */
  async download (conversation: Conversation, cseq: number, ref: MediaRef): Promise<Uint8Array> {
    const { peer, group } = peerOf(conversation)
    const { url } = MediaDownload.fromCbor(await this.#requests.request('mediaDownload', MediaDownloadArgs.toCbor({ peer, cseq, ...(group ? { group } : {}) })))
    const bytes = await this.#retrying(async () => {
      const response = await this.#fetch('download', url, { method: 'GET' })
      return new Uint8Array(await response.arrayBuffer())
    }, transient)
    if (bytes.length !== ref.size || !equal(await sha256(bytes), ref.sha256)) {
      throw new LowbandError('MEDIA_CORRUPT', `got ${bytes.length} bytes, expected ${ref.size} with the message's sha256`)
    }
    return bytes
  }

  async #uploadParts (first: MediaUploadSlot, bytes: Uint8Array): Promise<void> {
    const id = first.id
    const uploadId = first.uploadId!
    const size = bytes.length
    let slot = first
    // Every failure is worth another try here: the next one starts with fresh URLs.
    await this.#retrying(async (attempt) => {
      // After a failure, ask what the storage holds: a part whose answer was lost is not sent again.
      if (attempt > 1) slot = MediaUploadSlot.fromCbor(await this.#requests.request('mediaParts', MediaPartsArgs.toCbor({ id, uploadId, size })))
      const partSize = slot.partSize!
      for (const [index, url] of (slot.parts ?? []).entries()) {
        if (url !== null) await this.#put(url, bytes.subarray(index * partSize, (index + 1) * partSize), {})
      }
    })
    await this.#requests.request('mediaComplete', MediaPartsArgs.toCbor({ id, uploadId, size }))
  }

  async #put (url: string, body: Uint8Array, headers: Record<string, string>): Promise<void> {
    await this.#fetch('upload', url, { method: 'PUT', headers, body })
  }

  async #fetch (what: string, url: string, init: Parameters<MediaFetch>[1]): ReturnType<MediaFetch> {
    let response: Awaited<ReturnType<MediaFetch>>
    try {
      response = await this.#options.fetch(url, init)
    } catch (cause) {
      throw new MediaTransferError(what, undefined, { cause })
    }
    if (!response.ok) throw new MediaTransferError(what, response.status)
    return response
  }

  /**
   * Runs `work` until it succeeds or the tries are spent, with backoff between tries. A coded
   * answer of the broker (a LowbandError) is final, and so is any error `retry` turns down.
   */
  async #retrying<T> (work: (attempt: number) => Promise<T>, retry: (error: unknown) => boolean = () => true): Promise<T> {
    const backoff = new Backoff(this.#options.backoff, this.#options.random)
    for (let attempt = 1; ; attempt++) {
      try {
        return await work(attempt)
      } catch (error) {
        if (error instanceof LowbandError || !retry(error) || attempt >= this.#options.attempts) throw error
        await sleep(this.#options.clock, backoff.next(), new AbortController().signal)
      }
    }
  }
}

/** Worth another try with the same URL. */
function transient (error: unknown): boolean {
  return !(error instanceof MediaTransferError) || error.retryable
}

function describe (options: MediaOptions): Omit<MediaRef, 'id' | 'sha256' | 'size'> {
  if (options.thumbnail !== undefined && options.thumbnail.length > MAX_THUMBNAIL_BYTES) {
    throw new LowbandError('TOO_LARGE', `thumbnail: ${options.thumbnail.length} > ${MAX_THUMBNAIL_BYTES} bytes`)
  }
  const { mime, thumbnail, duration, width, height, name, mediaKey } = options
  return Object.fromEntries(Object.entries({ mime, thumbnail, duration, width, height, name, mediaKey }).filter(([, v]) => v !== undefined)) as Omit<MediaRef, 'id' | 'sha256' | 'size'>
}

async function sha256 (bytes: Uint8Array): Promise<Uint8Array> {
  // The cast: TypeScript's DOM lib (a browser app compiling the SDK) wants an ArrayBuffer-backed view.
  return new Uint8Array(await globalThis.crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>))
}

function equal (a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, i) => byte === b[i])
}
