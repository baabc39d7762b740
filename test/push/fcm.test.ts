import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { FCM_ANSWERS, FcmEndpoint, fixedCredential, hasOpenssl, makeTestCa, type TestCa } from '../../bench/fcm-endpoint.js'
import type { PushMessage, PushProvider } from '../../push/contracts.js'
import { createFcmProvider } from '../../push/fcm.js'
import { PUSH_DATA_LIMIT, pushData } from '../../push/payload.js'

const PROJECT = 'lowband-test'
const NOW = 1_700_000_000_000

const push = (over: Partial<PushMessage> = {}): PushMessage => ({
  token: 'tok-android', platform: 'android', data: pushData({ conversation: 'alice', group: false, cseq: 7, unread: 3 }),
  collapseKey: 'u:alice', priority: 'high', ttlSeconds: 86_400, ...over
})

describe.skipIf(!hasOpenssl())('FCM provider: firebase-admin\'s real send path against a local FCM HTTP v1 endpoint (needs openssl for the test CA)', () => {
  let ca: TestCa
  let fcm: FcmEndpoint
  let provider: PushProvider
  beforeAll(async () => {
    ca = makeTestCa()
    fcm = await FcmEndpoint.start(ca, PROJECT)
    provider = createFcmProvider({ projectId: PROJECT, credential: fixedCredential, httpAgent: fcm.agent, now: () => NOW })
  })
  afterAll(async () => {
    await provider.close()
    await fcm.close()
  })
  afterEach(() => {
    fcm.requests.length = 0
    fcm.answer = () => FCM_ANSWERS.ok(PROJECT)
  })

  it('sends an Android push as data only, with priority, collapse_key and ttl', async () => {
    expect(await provider.send(push())).toEqual({ kind: 'sent' })
    const [request] = fcm.requests
    expect(request!.url).toBe(`/v1/projects/${PROJECT}/messages:send`)
    expect(request!.headers.authorization).toBe('Bearer test-access-token')
    expect(request!.body).toEqual({
      message: {
        token: 'tok-android',
        data: { c: 'alice', q: '7', n: '3' },
        android: { priority: 'high', collapse_key: 'u:alice', ttl: '86400s' }
      }
    })
  })

  it('sends an iOS push through the apns block: a background push with its collapse id and expiry', async () => {
    const data = pushData({ conversation: 'g0123456789abcdef', group: true, cseq: 12, unread: 40 })
    expect(await provider.send(push({ token: 'tok-ios', platform: 'ios', data, collapseKey: 'g:g0123456789abcdef', priority: 'normal' }))).toEqual({ kind: 'sent' })
    expect(fcm.requests[0]!.body).toEqual({
      message: {
        token: 'tok-ios',
        data: { c: 'g0123456789abcdef', g: '1', q: '12', n: '40' },
        apns: {
          headers: { 'apns-push-type': 'background', 'apns-priority': '5', 'apns-collapse-id': 'g:g0123456789abcdef', 'apns-expiration': String(NOW / 1000 + 86_400) },
          payload: { aps: { 'content-available': 1 } }
        }
      }
    })
  })

  it('sends a web push with Urgency, TTL and a Topic', async () => {
    expect(await provider.send(push({ token: 'tok-web', platform: 'web', priority: 'normal', ttlSeconds: 600 }))).toEqual({ kind: 'sent' })
    const headers = (fcm.requests[0]!.body.message.webpush as { headers: Record<string, string> }).headers
    expect(headers).toMatchObject({ Urgency: 'normal', TTL: '600' })
    expect(headers.Topic).toMatch(/^[A-Za-z0-9_-]{32}$/)
  })

  it('puts less than 4096 bytes of data in every push, even with the longest ids', async () => {
    const data = pushData({ conversation: 'x'.repeat(64), group: true, cseq: Number.MAX_SAFE_INTEGER, unread: 1_000_000 })
    await provider.send(push({ data }))
    expect(Buffer.byteLength(JSON.stringify(fcm.requests[0]!.body.message.data))).toBeLessThan(PUSH_DATA_LIMIT)
    expect(() => pushData({ conversation: 'x'.repeat(5000), group: false, cseq: 1, unread: 1 })).toThrow(/4096/)
  })

  it('calls a token dead on 404 UNREGISTERED and on an INVALID_ARGUMENT about the token', async () => {
    fcm.answer = () => FCM_ANSWERS.unregistered()
    expect(await provider.send(push())).toMatchObject({ kind: 'unregistered', reason: expect.stringContaining('registration-token-not-registered') })
    fcm.answer = () => FCM_ANSWERS.invalidToken()
    expect(await provider.send(push())).toMatchObject({ kind: 'unregistered' })
  })

  it('asks for a retry on 429, with the Retry-After firebase-admin does not report itself', async () => {
    fcm.answer = () => FCM_ANSWERS.quota(7)
    expect(await provider.send(push())).toMatchObject({ kind: 'retry', retryAfterMs: 7000, reason: expect.stringContaining('HTTP 429') })
    expect(fcm.requests).toHaveLength(1)
  })

  it('asks for a retry on 503; firebase-admin retries one itself only when Retry-After is at most 60 s', async () => {
    fcm.answer = () => FCM_ANSWERS.unavailable(61)
    expect(await provider.send(push())).toMatchObject({ kind: 'retry', retryAfterMs: 61_000, reason: expect.stringContaining('server-unavailable') })
    expect(fcm.requests).toHaveLength(1)
  })

  it('gives up at once on a permanent refusal', async () => {
    fcm.answer = () => ({ status: 403, json: { error: { code: 403, message: 'SenderId mismatch', status: 'PERMISSION_DENIED' } } })
    expect(await provider.send(push())).toMatchObject({ kind: 'failed', reason: expect.stringContaining('HTTP 403') })
  })
})
