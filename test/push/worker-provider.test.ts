import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { getPriority } from 'node:os'
import { Worker } from 'node:worker_threads'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { FCM_ANSWERS, FcmEndpoint, hasOpenssl, makeTestCa, type TestCa } from '../../bench/fcm-endpoint.js'
import type { PushMessage } from '../../push/contracts.js'
import { createWorkerProvider, PUSH_WORKER_NICENESS } from '../../push/worker-provider.js'

// A worker runs compiled JavaScript: these use dist/ (npm test builds it first).
const dist = (path: string): URL => new URL(`../../dist/${path}`, import.meta.url)
const WORKER = dist('push/provider-worker.js')
const PROJECT = 'lowband-test'
/** The nice value of each thread of this process (Linux: a nice value is per thread), from /proc. */
function threadNiceValues (): number[] {
  return readdirSync('/proc/self/task').flatMap((tid) => {
    try {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8')
      // Fields after the command name's closing parenthesis start at the state (field 3); nice is field 19.
      return [Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16])]
    } catch {
      return [] // the thread ended meanwhile
    }
  })
}

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

  it.skipIf(!existsSync('/proc/self/task'))('runs the worker thread nicer than the broker, so a burst of pushes yields the CPU to PUBACKs (needs Linux /proc)', async () => {
    const nicer = Math.min(19, getPriority() + PUSH_WORKER_NICENESS)
    expect(threadNiceValues()).not.toContain(nicer)
    const provider = await createWorkerProvider(spec(), WORKER)
    try {
      expect(threadNiceValues()).toContain(nicer)
      expect(threadNiceValues()).toContain(getPriority()) // this thread, the broker's event loop, is left as it was
    } finally {
      await provider.close()
    }
  })

  it('posts the sends of one turn to the worker in one message, and brings each outcome back to its own send', async () => {
    fcm.answer = (request) => request.body.message.token.startsWith('dead') ? FCM_ANSWERS.unregistered() : FCM_ANSWERS.ok(PROJECT)
    const provider = await createWorkerProvider(spec(), WORKER)
    const posted = vi.spyOn(Worker.prototype, 'postMessage')
    try {
      const tokens = Array.from({ length: 40 }, (_, i) => i % 3 === 0 ? `dead-${i}` : `live-${i}`)
      const outcomes = await Promise.all(tokens.map((token) => provider.send({ ...push, token })))
      expect(posted).toHaveBeenCalledTimes(1)
      expect(outcomes.map((o) => o.kind)).toEqual(tokens.map((t) => t.startsWith('dead') ? 'unregistered' : 'sent'))
    } finally {
      posted.mockRestore()
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
