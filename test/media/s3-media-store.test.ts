import { describe, expect, it } from 'vitest'
import { LowbandError } from '../../protocol/errors.js'
import { OutageLog } from '../../storage/media/outage.js'
import { S3MediaStore } from '../../storage/media/s3.js'
import { createTestBucket, NO_S3, S3, testS3Client } from './helpers/s3.js'
import { mediaStoreContract } from './media-store.contract.js'

function recordingLog (): { lines: string[], log: OutageLog } {
  const lines: string[] = []
  return { lines, log: new OutageLog({ warn: (_f, m) => lines.push(`warn ${m}`), info: (_f, m) => lines.push(`info ${m}`) }) }
}

mediaStoreContract('S3 (s3rver)', async () => new S3MediaStore({
  client: testS3Client(), bucket: await createTestBucket(), urlTtlSeconds: 900, outages: recordingLog().log, now: Date.now
}), S3 === undefined ? NO_S3 : false)

describe.skipIf(S3 === undefined)('S3 presigned URLs', () => {
  it('carry no checksum of an empty body (real S3 and MinIO would refuse the upload; s3rver does not check)', async () => {
    const store = new S3MediaStore({ client: testS3Client(), bucket: await createTestBucket(), urlTtlSeconds: 900, outages: recordingLog().log, now: Date.now })
    const sha256 = new Uint8Array(32).fill(5)
    const single = await store.createUpload({ owner: 'alice', id: new Uint8Array(12) }, { size: 10, mime: 'image/png', sha256 })
    const multi = await store.createUpload({ owner: 'alice', id: new Uint8Array(12).fill(1) }, { size: store.multipartThreshold + 1, mime: 'video/mp4', sha256 })
    if (single.multipart || !multi.multipart) throw new Error('expected one single and one multipart slot')
    for (const url of [single.url, ...multi.parts.map((u) => u!)]) {
      const params = [...new URL(url).searchParams.keys()].map((k) => k.toLowerCase())
      expect(params.filter((k) => k.startsWith('x-amz-checksum') || k === 'x-amz-sdk-checksum-algorithm'), url).toEqual([])
    }
    // The one checksum a slot carries is the declared SHA-256, as a signed header the device sends.
    expect(single.headers.get('x-amz-checksum-sha256')).toBe(Buffer.from(sha256).toString('base64'))
    expect(new URL(single.url).searchParams.get('X-Amz-SignedHeaders')).toBe('content-length;content-type;host;x-amz-checksum-sha256;x-amz-tagging')
  })
})

describe.skipIf(S3 === undefined)('S3 media store outages', () => {
  it('answers STORAGE_UNAVAILABLE while the storage is unreachable, and logs the outage once', async () => {
    const { lines, log } = recordingLog()
    // A port nothing listens on: connections are refused at once.
    const store = new S3MediaStore({ client: testS3Client('http://127.0.0.1:9'), bucket: 'lowband-down', urlTtlSeconds: 900, outages: log, now: Date.now })
    const name = { owner: 'alice', id: new Uint8Array(12) }
    for (let i = 0; i < 3; i++) {
      const error = await store.createUpload(name, { size: 10, mime: 'image/png', sha256: new Uint8Array(32) }).catch((e: unknown) => e)
      expect(error).toBeInstanceOf(LowbandError)
      expect((error as LowbandError).errorName).toBe('STORAGE_UNAVAILABLE')
    }
    await expect(store.inspect(name)).rejects.toMatchObject({ errorName: 'STORAGE_UNAVAILABLE' })
    expect(lines.filter((l) => l.includes('object storage unavailable'))).toHaveLength(1)
  })
})
