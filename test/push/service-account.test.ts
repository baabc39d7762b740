import { generateKeyPairSync } from 'node:crypto'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { ConfigError } from '../../broker/config-error.js'
import { loadServiceAccount } from '../../broker/push.js'
import { OP } from '../../protocol/requests.js'
import { startTestBroker } from '../helpers/broker.js'
import { request, sendRaw } from '../helpers/chat.js'
import { runCli, spawnBroker } from '../helpers/process.js'
import { tempDirs } from '../helpers/temp-dirs.js'

const tempDir = tempDirs('lowband-sa-')

/** A service-account file as the Firebase console downloads it, with a freshly made key. */
async function serviceAccountFile (over: Record<string, unknown> = {}): Promise<string> {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 })
  const file = join(await tempDir(), 'service-account.json')
  await writeFile(file, JSON.stringify({
    type: 'service_account',
    project_id: 'sa-project',
    private_key_id: 'k1',
    private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }),
    client_email: 'lowband@sa-project.iam.gserviceaccount.com',
    token_uri: 'https://oauth2.googleapis.com/token',
    ...over
  }))
  return file
}

describe('--fcm-service-account', () => {
  it('refuses an unreadable file, a file that is not JSON and one that is not a service account, naming the option', async () => {
    const dir = await tempDir()
    const notJson = join(dir, 'not.json')
    await writeFile(notJson, 'not json {')
    const cases: Array<[string, RegExp]> = [
      [join(dir, 'missing.json'), /cannot read it \(ENOENT/],
      [notJson, /not JSON/],
      [await serviceAccountFile({ private_key: 'nope' }), /its private_key does not parse/],
      [await serviceAccountFile({ client_email: undefined }), /no "client_email"/]
    ]
    for (const [file, reason] of cases) {
      const error = await loadServiceAccount(file).catch((e: unknown) => e)
      expect(error).toBeInstanceOf(ConfigError)
      expect((error as Error).message).toMatch(/^--fcm-service-account \(LOWBAND_FCM_SERVICE_ACCOUNT\): /)
      expect((error as Error).message).toMatch(reason)
      expect((error as Error).message).not.toContain('\n')
    }
  })

  it('stops `lowband start` with one line and exit code 2', async () => {
    const dir = await tempDir()
    const { code, stderr } = await runCli(['start', '--port', '0', '--ws-port', '0', '--http-port', '0', '--data-dir', dir, '--fcm-service-account', join(dir, 'missing.json')])
    expect(code).toBe(2)
    expect(stderr).toMatch(/^lowband: --fcm-service-account \(LOWBAND_FCM_SERVICE_ACCOUNT\): .*missing\.json: cannot read it/)
    expect(stderr.trim().split('\n')).toHaveLength(1)
  })

  it('starts `lowband start` pushing through FCM, in a worker, to the file\'s project; a key cert() refuses is exit 2', async () => {
    const dir = await tempDir()
    const broker = await spawnBroker(['--data-dir', dir, '--fcm-service-account', await serviceAccountFile()])
    expect(broker.output()).toContain('"provider":"fcm project sa-project","msg":"push through FCM"')
    broker.child.kill('SIGTERM')
    expect(await broker.exited).toBe(0)
    // An EC key parses, but firebase-admin's cert() takes RSA only: its refusal comes back from the worker.
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' })
    const { code, stderr } = await runCli(['start', '--port', '0', '--ws-port', '0', '--http-port', '0', '--data-dir', dir, '--fcm-service-account', await serviceAccountFile({ private_key: ec })])
    expect(code).toBe(2)
    expect(stderr).toMatch(/^lowband: --fcm-service-account \(LOWBAND_FCM_SERVICE_ACCOUNT\): .*Failed to parse private key/)
    expect(stderr.trim().split('\n')).toHaveLength(1)
  }, 60_000) // two broker processes, each loading firebase-admin in its worker

  it('without a service account, says pushes are only logged, and logs each at debug level', async () => {
    const broker = await startTestBroker()
    try {
      expect(broker.logs.join('')).toContain('no --fcm-service-account, pushes are logged at debug level and not sent')
      const bob = await broker.device('bob', 'phone')
      await request(bob, 'bob', OP.registerPush, new Map<number, unknown>([[1, 'tok-bob-0123456789'], [2, 0]]))
      await bob.endAsync()
      await sendRaw(await broker.device('alice', 'phone'), 'bob', 'hello')
      for (let i = 0; i < 100 && !broker.logs.join('').includes('logged, not sent'); i++) await new Promise((resolve) => setTimeout(resolve, 20))
      const line = broker.logs.find((l) => l.includes('logged, not sent'))
      expect(JSON.parse(line!)).toMatchObject({ level: 20, push: { token: '…23456789', data: { c: 'alice', q: '1', n: '1' }, collapseKey: 'u:alice', priority: 'high' } })
    } finally {
      await broker.close()
    }
  })
})
