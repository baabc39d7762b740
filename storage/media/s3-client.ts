import { S3Client } from '@aws-sdk/client-s3'

export interface S3Connection {
  /** Any S3 API; undefined means AWS S3 itself. */
  readonly endpoint?: string
  readonly region: string
  /** `http://host/bucket/key` instead of `http://bucket.host/key` (MinIO, s3rver and most self-hosted servers). */
  readonly forcePathStyle: boolean
  /** Undefined: the standard AWS chain (AWS_ACCESS_KEY_ID…, profiles, instance roles). */
  readonly credentials?: { accessKeyId: string, secretAccessKey: string }
}

/** Wait for a TCP connection to the storage, ms: a dead storage answers STORAGE_UNAVAILABLE quickly. */
const CONNECT_TIMEOUT_MS = 3000
/** Wait for a storage response, ms (the broker only sends small requests: HEAD, tags, lists). */
const REQUEST_TIMEOUT_MS = 10_000
/** Tries per storage call: one retry, so an outage answers within seconds, not after the SDK's default three. */
const MAX_ATTEMPTS = 2

export function createS3Client (connection: S3Connection): S3Client {
  // The pinned SDK release runs on Node 20; its notice that *later* releases will not would be
  // printed (as a multi-line warning) into the broker's JSON log on every start.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true'
  return new S3Client({
    ...(connection.endpoint === undefined ? {} : { endpoint: connection.endpoint }),
    region: connection.region,
    forcePathStyle: connection.forcePathStyle,
    ...(connection.credentials === undefined ? {} : { credentials: connection.credentials }),
    // By default the SDK adds a CRC32 of the (empty, at presign time) body to presigned PUTs, which
    // real S3 and MinIO then reject. Checksums only where an operation requires one.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    maxAttempts: MAX_ATTEMPTS,
    requestHandler: { connectionTimeout: CONNECT_TIMEOUT_MS, requestTimeout: REQUEST_TIMEOUT_MS }
  })
}
