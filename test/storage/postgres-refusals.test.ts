import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ERROR_CODES } from '../../protocol/errors.js'
import type { Storage } from '../../storage/contracts.js'
import { openPostgresStorage } from '../../storage/postgres/index.js'
import { RetriableError } from '../../storage/retriable.js'
import { draft, withTestPostgres } from '../helpers/postgres-databases.js'

/*
 * What PostgreSQL refuses for the value itself — NUL in text, an index entry past its limit, a
 * number past its column — reaches the caller as the permanent coded refusal STORE_REFUSED, never
 * as a RetriableError (which closes a device's connection without its PUBACK: it would resend the
 * same input forever), and never takes the store out of service. The protocol keeps devices from
 * getting here (test/broker/adversarial-postgres.test.ts); this is the adapter's last word.
 */
withTestPostgres('postgres: values the database refuses', (databases) => {
  describe('postgres: values the database refuses', () => {
    let storage: Storage
    beforeAll(async () => { storage = await openPostgresStorage(await databases.create()) })
    afterAll(() => storage?.close())

    const refused = { code: ERROR_CODES.STORE_REFUSED.code }

    it('refuses NUL in text, an index entry past 2704 bytes and a number past bigint with STORE_REFUSED', async () => {
      await expect(storage.directory.registerPushToken('alice', 'phone', 'a\u0000b', 'android')).rejects.toMatchObject(refused)
      await expect(storage.directory.registerPushToken('alice', 'phone', randomBytes(2400).toString('hex'), 'android')).rejects.toMatchObject(refused)
      await expect(storage.directory.setLastSeen('alice', 2 ** 63)).rejects.toMatchObject(refused)
      await expect(storage.messages.appendDirect(draft({ fromDevice: 'ph\u0000ne' }))).rejects.toMatchObject(refused)
      expect(storage.health()).toEqual({ ready: true })
    })

    it('refuses the one refused append of a shared transaction and stores the others', async () => {
      const sends = Array.from({ length: 20 }, (_, i) => storage.messages.appendDirect(draft({ clientMsgId: `shared ${i}`, fromDevice: i === 7 ? 'ph\u0000ne' : 'phone' })))
      const outcomes = await Promise.allSettled(sends)
      const failures = outcomes.flatMap((o, i) => o.status === 'rejected' ? [[i, o.reason] as const] : [])
      expect(failures.map(([i]) => i)).toEqual([7])
      expect(failures[0]![1]).not.toBeInstanceOf(RetriableError)
      expect(failures[0]![1]).toMatchObject(refused)
      expect(storage.health()).toEqual({ ready: true })
    })
  })
})
