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
