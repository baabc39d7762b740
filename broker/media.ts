import type { Logger } from 'pino'
import type { MediaContext } from '../hooks/context.js'
import { OutageLog } from '../storage/media/outage.js'
import { S3MediaStore } from '../storage/media/s3.js'
import { createS3Client } from '../storage/media/s3-client.js'
import type { Config } from './config.js'

/** The object storage for media, when a bucket is configured (nothing is contacted until a device asks). */
export function openMedia (config: Config, log: Logger, now: () => number = Date.now): MediaContext | undefined {
  if (config.s3Bucket === undefined) return undefined
  return { store: openMediaStore(config, log, now)!, maxBytes: config.mediaMaxBytes, types: config.mediaTypes }
}

/** The S3 media store of the `--s3-*` options; undefined without a bucket. */
export function openMediaStore (config: Config, log: Logger, now: () => number = Date.now): S3MediaStore | undefined {
  if (config.s3Bucket === undefined) return undefined
  const client = createS3Client({
    ...(config.s3Endpoint === undefined ? {} : { endpoint: config.s3Endpoint }),
    region: config.s3Region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1',
    forcePathStyle: config.s3ForcePathStyle,
    ...(config.s3AccessKeyId === undefined ? {} : { credentials: { accessKeyId: config.s3AccessKeyId, secretAccessKey: config.s3SecretAccessKey! } })
  })
  return new S3MediaStore({ client, bucket: config.s3Bucket, urlTtlSeconds: config.mediaUrlTtl, outages: new OutageLog(log), now })
}
