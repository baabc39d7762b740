import { fileURLToPath } from 'node:url'
import { spawnLimited, waitForLine } from './proc.js'

const S3_SERVER = fileURLToPath(new URL('../../scripts/s3-server.mjs', import.meta.url))

export interface S3Server {
  /** `lowband start` options for media in the server's bucket. */
  readonly brokerArgs: readonly string[]
  stop (): Promise<void>
}

/** The local S3-compatible server of the tests (scripts/s3-server.mjs) on a free port, with one bucket. */
export async function startS3Server (bucket: string): Promise<S3Server> {
  const spawned = spawnLimited(process.execPath, [S3_SERVER, '--bucket', bucket])
  const info = await waitForLine(spawned, (line) => line.startsWith('{"url"') ? JSON.parse(line) as { url: string, accessKeyId: string, secretAccessKey: string } : undefined)
  return {
    brokerArgs: ['--s3-bucket', bucket, '--s3-endpoint', info.url, '--s3-force-path-style', '--s3-access-key-id', info.accessKeyId, '--s3-secret-access-key', info.secretAccessKey],
    stop: () => spawned.stop()
  }
}
