import { SignJWT } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { connectMqtt, SECRET, startTestBroker, type TestBroker } from '../helpers/broker.js'
import { tempDirs } from '../helpers/temp-dirs.js'

const refusal = (promise: Promise<unknown>): Promise<number | undefined> =>
  promise.then(() => undefined, (error: { code?: number }) => error.code)

const tempDir = tempDirs('lowband-key-')

describe('authentication', () => {
  let broker: TestBroker
  beforeAll(async () => { broker = await startTestBroker() })
  afterAll(() => broker.close())

  it('accepts a device whose token was issued to its user', async () => {
    const client = await connectMqtt(broker.url, { clientId: 'alice/phone', username: 'alice', password: await broker.token('alice') })
    expect(client.connected).toBe(true)
    await client.endAsync()
  })

  it('refuses a missing token with return code 4', async () => {
    expect(await refusal(connectMqtt(broker.url, { clientId: 'alice/phone', username: 'alice' }))).toBe(4)
  })

  it('refuses a token signed with another key with return code 4', async () => {
    const forged = await new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject('alice').setExpirationTime('1h')
      .sign(new TextEncoder().encode('some-other-secret-0123456789'))
    expect(await refusal(connectMqtt(broker.url, { clientId: 'alice/phone', username: 'alice', password: forged }))).toBe(4)
  })

  it('refuses an expired token with return code 4', async () => {
    const expired = await new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject('alice')
      .setExpirationTime(Math.floor(Date.now() / 1000) - 60).sign(new TextEncoder().encode(SECRET))
    expect(await refusal(connectMqtt(broker.url, { clientId: 'alice/phone', username: 'alice', password: expired }))).toBe(4)
  })

  it('refuses garbage for a token with return code 4', async () => {
    expect(await refusal(connectMqtt(broker.url, { clientId: 'alice/phone', username: 'alice', password: 'not-a-jwt' }))).toBe(4)
  })

  it('refuses another user\'s token with return code 4', async () => {
    expect(await refusal(connectMqtt(broker.url, { clientId: 'alice/phone', username: 'alice', password: await broker.token('bob') }))).toBe(4)
  })

  it('refuses a client id of another user, or without a device, with return code 5', async () => {
    const password = await broker.token('alice')
    expect(await refusal(connectMqtt(broker.url, { clientId: 'bob/phone', username: 'alice', password }))).toBe(5)
    expect(await refusal(connectMqtt(broker.url, { clientId: 'alice', username: 'alice', password }))).toBe(5)
    expect(await refusal(connectMqtt(broker.url, { clientId: 'alice/ph#one', username: 'alice', password }))).toBe(5)
  })

  it('refuses a device-bound token on another device with return code 5', async () => {
    const password = await broker.token('alice', { deviceId: 'phone' })
    expect(await refusal(connectMqtt(broker.url, { clientId: 'alice/laptop', username: 'alice', password }))).toBe(5)
    const ok = await connectMqtt(broker.url, { clientId: 'alice/phone', username: 'alice', password })
    await ok.endAsync()
  })

  it('refuses anonymous clients unless --allow-anonymous, with return code 5', async () => {
    expect(await refusal(connectMqtt(broker.url, { clientId: 'sensor-1' }))).toBe(5)
  })

  it('never writes a token into its log', async () => {
    const password = await broker.token('carol')
    await refusal(connectMqtt(broker.url, { clientId: 'mallory/phone', username: 'carol', password }))
    const ok = await connectMqtt(broker.url, { clientId: 'carol/phone', username: 'carol', password })
    await ok.endAsync()
    const logs = broker.logs.join('')
    expect(logs).toContain('connection refused')
    expect(logs).not.toContain(password)
    expect(logs).not.toContain(password.split('.')[2])
  })
})

describe('authentication with an Ed25519 public key', () => {
  it('accepts EdDSA tokens signed by the matching private key and refuses others', async () => {
    const { generateKeyPairSync } = await import('node:crypto')
    const { writeFile } = await import('node:fs/promises')
    const { join } = await import('node:path')
    const { publicKey, privateKey } = generateKeyPairSync('ed25519')
    const other = generateKeyPairSync('ed25519').privateKey
    const dir = await tempDir()
    const file = join(dir, 'pub.pem')
    await writeFile(file, publicKey.export({ type: 'spki', format: 'pem' }))
    const broker = await startTestBroker({ jwtSecret: undefined, jwtPublicKey: file })
    try {
      const sign = (key: typeof privateKey) => new SignJWT({}).setProtectedHeader({ alg: 'EdDSA' }).setSubject('alice').setExpirationTime('1h').sign(key)
      const client = await connectMqtt(broker.url, { clientId: 'alice/phone', username: 'alice', password: await sign(privateKey) })
      await client.endAsync()
      expect(await refusal(connectMqtt(broker.url, { clientId: 'alice/phone', username: 'alice', password: await sign(other) }))).toBe(4)
      // A token signed with some shared secret is refused: only the key's own algorithms count.
      expect(await refusal(connectMqtt(broker.url, { clientId: 'alice/phone', username: 'alice', password: await broker.token('alice') }))).toBe(4)
    } finally {
      await broker.close()
    }
  })
})
