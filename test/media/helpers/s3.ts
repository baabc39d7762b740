import { randomBytes } from 'node:crypto'
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3'
import { createS3Client } from '../../../storage/media/s3-client.js'

/** The S3-compatible server `npm test` starts (scripts/services.sh), or undefined outside it. */
export const S3 = process.env.LOWBAND_TEST_S3_URL === undefined
  ? undefined
  : { url: process.env.LOWBAND_TEST_S3_URL, accessKeyId: process.env.LOWBAND_TEST_S3_ACCESS_KEY_ID ?? 'S3RVER', secretAccessKey: process.env.LOWBAND_TEST_S3_SECRET_ACCESS_KEY ?? 'S3RVER' }

export const NO_S3 = 'no S3-compatible server: run through `npm test` (scripts/services.sh starts one and sets LOWBAND_TEST_S3_URL)'

/** A client of the test server, or of `endpoint` (a proxy in front of it) with its credentials. */
export function testS3Client (endpoint = S3!.url): S3Client {
  return createS3Client({ endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: S3!.accessKeyId, secretAccessKey: S3!.secretAccessKey } })
}

/** A new, empty bucket of its own for one test file. */
export async function createTestBucket (): Promise<string> {
  const bucket = `lowband-test-${randomBytes(6).toString('hex')}`
  await testS3Client().send(new CreateBucketCommand({ Bucket: bucket }))
  return bucket
}

/** Broker flags for media in `bucket`, through `endpoint` (default the test server). */
export function mediaFlags (bucket: string, endpoint = S3!.url): Record<string, unknown> {
  return { s3Bucket: bucket, s3Endpoint: endpoint, s3ForcePathStyle: true, s3AccessKeyId: S3!.accessKeyId, s3SecretAccessKey: S3!.secretAccessKey }
}

/** `size` bytes that are not all alike, so a swapped or shifted part shows. */
export function blob (size: number, seed = 1): Uint8Array {
  const bytes = new Uint8Array(size)
  let x = seed
  for (let i = 0; i < size; i++) {
    x = (x * 1103515245 + 12345) >>> 0
    bytes[i] = x >>> 24
  }
  return bytes
}

export async function sha256 (bytes: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest('SHA-256', bytes))
}
