import type { Link } from '../link.js'
import type { BrokerExtras } from './broker-process.js'
import { s3Server } from './paths.js'
import { startOnServer } from './server-process.js'

const BUCKET = 'lowband-netem'

export interface S3OnLink {
  /** What the broker needs to use it: options, and the credentials by environment. */
  readonly broker: BrokerExtras
  stop(): Promise<void>
}

/**
 * The local S3-compatible server of the tests (scripts/s3-server.mjs) in the
 * server namespace beside the broker, on the server address: phones reach it
 * across the emulated link, as a phone reaches object storage.
 */
export async function startS3OnLink(link: Link): Promise<S3OnLink> {
  const s3 = await startOnServer(link, 'S3 server', [process.execPath, s3Server(), '--host', link.serverAddr, '--port', '0', '--bucket', BUCKET], process.env, (line) =>
    line.startsWith('{"url"') ? (JSON.parse(line) as { url: string; accessKeyId: string; secretAccessKey: string }) : undefined
  )
  const { url, accessKeyId, secretAccessKey } = s3.ready
  return {
    broker: {
      args: ['--s3-bucket', BUCKET, '--s3-endpoint', url, '--s3-force-path-style'],
      env: { LOWBAND_S3_ACCESS_KEY_ID: accessKeyId, LOWBAND_S3_SECRET_ACCESS_KEY: secretAccessKey }
    },
    stop: s3.stop
  }
}
