import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { FCM_ANSWERS, FcmEndpoint, hasOpenssl, makeTestCa, type TestCa } from '../../bench/fcm-endpoint.js'
import type { PushMessage } from '../../push/contracts.js'
import { createWorkerProvider } from '../../push/worker-provider.js'

// A worker runs compiled JavaScript: these use dist/ (npm test builds it first).
const dist = (path: string): URL => new URL(`../../dist/${path}`, import.meta.url)
const WORKER = dist('push/provider-worker.js')
const PROJECT = 'lowband-test'
const push: PushMessage = { token: 'tok', platform: 'android', data: { c: 'alice', q: '1', n: '1' }, collapseKey: 'u:alice', priority: 'high', ttlSeconds: 60 }

describe.skipIf(!hasOpenssl())('FCM in a worker thread (needs openssl for the test CA)', () => {
  let ca: TestCa
  let fcm: FcmEndpoint
  beforeAll(async () => {
    ca = makeTestCa()
    fcm = await FcmEndpoint.start(ca, PROJECT)
  })
  afterAll(async () => { await fcm.close() })

  const spec = () => ({ module: dist('bench/fcm-endpoint.js').href, factory: 'localFcmProvider', options: { port: fcm.port, ca: ca.ca, projectId: PROJECT } })

  it('sends through firebase-admin in the worker and brings each outcome back', async () => {
    const provider = await createWorkerProvider(spec(), WORKER)
    try {
      expect(provider.name).toBe(`fcm project ${PROJECT}`)
      expect(await provider.send(push)).toEqual({ kind: 'sent' })
      fcm.answer = () => FCM_ANSWERS.quota(3)
      expect(await provider.send(push)).toMatchObject({ kind: 'retry', retryAfterMs: 3000 })
      expect(fcm.requests.map((r) => r.body.message.token)).toEqual(['tok', 'tok'])
    } finally {
      await provider.close()
    }
  })

  it('closes while a send hangs on a silent FCM, answering it with a retry', async () => {
    fcm.answer = () => 'hang'
    const provider = await createWorkerProvider(spec(), WORKER)
    const sending = provider.send(push)
    await fcm.received(fcm.requests.length + 1)
    await provider.close()
    expect(await sending).toMatchObject({ kind: 'retry' })
    expect(await provider.send(push)).toMatchObject({ kind: 'retry' })
  })

  it('rejects with the reason when the worker cannot make its provider', async () => {
    await expect(createWorkerProvider({ module: dist('push/fcm.js').href, factory: 'fcmFromServiceAccount', options: { json: {}, maxSockets: 1 } }, WORKER))
      .rejects.toThrow(/project_id/)
  })
})
