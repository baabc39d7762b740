import type { Logger } from 'pino'
import type { MediaContext } from '../hooks/context.js'
import type { MediaStore } from '../storage/media/contract.js'
import type { Config } from './config.js'

/** The object storage for media, when a bucket is configured (nothing is contacted until a device asks). */
export async function openMedia (config: Config, log: Logger, now: () => number = Date.now): Promise<MediaContext | undefined> {
  const store = await openMediaStore(config, log, now)
  return store === undefined ? undefined : { store, maxBytes: config.mediaMaxBytes, types: config.mediaTypes }
}

/**
 * The S3 media store of the `--s3-*` options; undefined without a bucket. The AWS SDK is loaded
 * only then, so a broker without media does not pay for it at start.
 */
export async function openMediaStore (config: Config, log: Logger, now: () => number = Date.now): Promise<MediaStore | undefined> {
  if (config.s3Bucket === undefined) return undefined
  const [{ S3MediaStore }, { createS3Client }, { OutageLog }] = await Promise.all([
    import('../storage/media/s3.js'), import('../storage/media/s3-client.js'), import('../storage/media/outage.js')
  ])
  const client = createS3Client({
    ...(config.s3Endpoint === undefined ? {} : { endpoint: config.s3Endpoint }),
    region: config.s3Region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1',
    forcePathStyle: config.s3ForcePathStyle,
    ...(config.s3AccessKeyId === undefined ? {} : { credentials: { accessKeyId: config.s3AccessKeyId, secretAccessKey: config.s3SecretAccessKey! } })
  })
  return new S3MediaStore({ client, bucket: config.s3Bucket, urlTtlSeconds: config.mediaUrlTtl, outages: new OutageLog(log), now })
}
