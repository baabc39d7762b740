import { randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { loadConfig } from '../../broker/config.js'
import { OutageLog } from '../../storage/media/outage.js'
import { S3MediaStore } from '../../storage/media/s3.js'
import { runCli } from '../helpers/process.js'
import { blob, createTestBucket, mediaFlags, NO_S3, S3, sha256, testS3Client } from './helpers/s3.js'

describe('media configuration', () => {
  it('has the documented defaults and refuses bad values with one line naming the flag', () => {
    const config = loadConfig({}, {})
    expect(config).toMatchObject({ mediaMaxBytes: 16 * 1024 * 1024, mediaUrlTtl: 900, s3ForcePathStyle: false, mediaTypes: ['image/*', 'audio/*', 'video/*', 'application/*', 'text/plain'] })
    expect(config.s3Bucket).toBeUndefined()
    expect(loadConfig({ mediaTypes: 'Image/PNG, audio/*' }, {}).mediaTypes).toEqual(['image/png', 'audio/*'])
    expect(() => loadConfig({ mediaTypes: 'png' }, {})).toThrow(/--media-types \(LOWBAND_MEDIA_TYPES\)/)
    expect(() => loadConfig({ s3Bucket: 'No_Such' }, {})).toThrow(/--s3-bucket \(LOWBAND_S3_BUCKET\)/)
    expect(() => loadConfig({ mediaUrlTtl: '10' }, {})).toThrow(/--media-url-ttl/)
    expect(() => loadConfig({ s3AccessKeyId: 'AKIA' }, {})).toThrow(/go together/)
    expect(() => loadConfig({}, { LOWBAND_S3_SECRET_ACCESS_KEY: 'x' })).toThrow(/go together/)
  })
})

describe.skipIf(S3 === undefined)(`lowband media sweep${S3 === undefined ? ` (skipped: ${NO_S3})` : ''}`, () => {
  it('removes the objects no message references, and only those (needs npm run build)', async () => {
    const bucket = await createTestBucket()
    const store = new S3MediaStore({ client: testS3Client(), bucket, urlTtlSeconds: 900, outages: new OutageLog({ warn () {}, info () {} }), now: Date.now })
    const names = [{ owner: 'alice', id: randomBytes(12) }, { owner: 'bob', id: randomBytes(12) }]
    for (const name of names) {
      const bytes = blob(64)
      const slot = await store.createUpload(name, { size: 64, mime: 'image/png', sha256: await sha256(bytes) })
      if (slot.multipart) throw new Error('expected one PUT')
      expect((await fetch(slot.url, { method: 'PUT', body: bytes, headers: Object.fromEntries(slot.headers) })).status).toBe(200)
    }
    await store.markReferenced(names[0]!)
    const flags = mediaFlags(bucket)
    const args = ['media', 'sweep', '--s3-bucket', bucket, '--s3-endpoint', String(flags.s3Endpoint), '--s3-force-path-style',
      '--s3-access-key-id', S3!.accessKeyId, '--s3-secret-access-key', S3!.secretAccessKey]

    // The default age (24 h) is the store contract's to check; here, that the command sweeps.
    const swept = await runCli([...args, '--min-age', '0'])
    expect(swept).toMatchObject({ code: 0, stdout: '1 of 2 objects older than 0 h were referenced by no message and removed\n' })
    expect(await store.inspect(names[0]!)).toBeDefined()
    expect(await store.inspect(names[1]!)).toBeUndefined()
  }, 60_000) // a process that loads the AWS SDK: seconds on a busy machine

  it('needs a bucket, and says so in one line (exit 2)', async () => {
    expect(await runCli(['media', 'sweep'])).toEqual({ code: 2, stdout: '', stderr: 'lowband: media sweep needs --s3-bucket (LOWBAND_S3_BUCKET)\n' })
  })
})
