import type { Client } from 'aedes'
import { describe, expect, it } from 'vitest'
import { createSessionPersistence } from '../../broker/session-persistence.js'

interface Packet { topic: string, messageId?: number, brokerId?: string, brokerCounter?: number, qos?: number, payload?: Buffer }
interface Outgoing {
  outgoingUpdate: (client: Client, packet: Packet) => Promise<void>
  outgoingClearMessageId: (client: Client, packet: Packet) => Promise<Packet | undefined>
}

const client = { id: 'bob/phone' } as unknown as Client
const packet = (topic: string, messageId: number): Packet => ({ topic, messageId, brokerId: 'b', brokerCounter: messageId, qos: 1, payload: Buffer.from('x') })

describe('session persistence', () => {
  it('tracks a chat PUBLISH in flight from its first write, so its PUBACK returns it', async () => {
    const persistence = createSessionPersistence() as unknown as Outgoing
    const limit = Error.stackTraceLimit
    await persistence.outgoingUpdate(client, packet('u/bob/m', 7))
    // The lookup that misses runs without a stack trace, and the limit is back afterwards.
    expect(Error.stackTraceLimit).toBe(limit)
    await persistence.outgoingUpdate(client, packet('u/bob/m', 7)) // a resend updates, not duplicates
    expect(await persistence.outgoingClearMessageId(client, { topic: 'u/bob/m', messageId: 7 })).toMatchObject({ topic: 'u/bob/m', messageId: 7 })
    expect(await persistence.outgoingClearMessageId(client, { topic: 'u/bob/m', messageId: 7 })).toBeUndefined()
  })

  it('still refuses to update a plain MQTT packet it never queued', async () => {
    const persistence = createSessionPersistence() as unknown as Outgoing
    await expect(persistence.outgoingUpdate(client, packet('sensors/1', 3))).rejects.toThrow('no such packet')
  })
})
