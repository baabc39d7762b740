import type { Client } from 'aedes'
import { describe, expect, it } from 'vitest'
import { createSessionPersistence } from '../../broker/session-persistence.js'

interface Packet { cmd?: string, topic?: string, messageId?: number, brokerId?: string, brokerCounter?: number, qos?: number, payload?: Buffer, dup?: boolean }
interface Outgoing {
  outgoingEnqueue: (sub: { clientId: string }, packet: Packet) => Promise<void>
  outgoingUpdate: (client: Client, packet: Packet) => Promise<void>
  outgoingClearMessageId: (client: Client, packet: Packet) => Promise<Packet | undefined>
  outgoingStream: (client: Client) => AsyncIterable<Packet>
}

const client = { id: 'bob/phone', clean: false } as unknown as Client
const packet = (topic: string, messageId: number): Packet => ({ cmd: 'publish', topic, messageId, brokerId: 'b', brokerCounter: messageId, qos: 1, payload: Buffer.from('x') })

const queued = async (persistence: Outgoing, of: Client = client): Promise<Packet[]> => {
  const packets: Packet[] = []
  for await (const p of persistence.outgoingStream(of)) packets.push(p)
  return packets
}

describe('session persistence', () => {
  it('tracks a chat PUBLISH in flight from its first write, so its PUBACK returns it', async () => {
    const persistence = createSessionPersistence() as unknown as Outgoing
    const limit = Error.stackTraceLimit
    await persistence.outgoingUpdate(client, packet('u/bob', 7))
    // The lookup that misses runs without a stack trace, and the limit is back afterwards.
    expect(Error.stackTraceLimit).toBe(limit)
    await persistence.outgoingUpdate(client, packet('u/bob', 7)) // a resend updates, not duplicates
    expect(await persistence.outgoingClearMessageId(client, { topic: 'u/bob', messageId: 7 })).toMatchObject({ topic: 'u/bob', messageId: 7 })
    expect(await persistence.outgoingClearMessageId(client, { topic: 'u/bob', messageId: 7 })).toBeUndefined()
  })

  it('still refuses to update a plain MQTT packet it never queued', async () => {
    const persistence = createSessionPersistence() as unknown as Outgoing
    await expect(persistence.outgoingUpdate(client, packet('sensors/1', 3))).rejects.toThrow('no such packet')
  })

  it('replaces a plain QoS 2 PUBLISH by its PUBREL, which has no topic [MQTT-4.3.3-1]', async () => {
    const persistence = createSessionPersistence() as unknown as Outgoing
    const sent = { ...packet('sensors/1', 0), messageId: undefined, qos: 2 }
    await persistence.outgoingEnqueue({ clientId: 'bob/phone' }, sent)
    await persistence.outgoingUpdate(client, { ...sent, messageId: 12 })
    await persistence.outgoingUpdate(client, { cmd: 'pubrel', messageId: 12 })
    expect(await queued(persistence)).toEqual([{ cmd: 'pubrel', messageId: 12 }])
  })

  it('marks a PUBLISH resent from a persistent session\'s queue DUP, and one never sent not [MQTT-3.3.1-1]', async () => {
    const persistence = createSessionPersistence() as unknown as Outgoing
    const sentOnce = { ...packet('sensors/1', 0), messageId: undefined }
    const neverSent = { ...packet('sensors/2', 0), brokerCounter: 2, messageId: undefined }
    await persistence.outgoingEnqueue({ clientId: 'bob/phone' }, sentOnce)
    await persistence.outgoingEnqueue({ clientId: 'bob/phone' }, neverSent)
    await persistence.outgoingUpdate(client, { ...sentOnce, messageId: 5 }) // handed to the socket
    const resent = await queued(persistence)
    expect(resent.map((p) => [p.topic, p.messageId, p.dup])).toEqual([['sensors/1', 5, true], ['sensors/2', undefined, false]])
    // A clean session's queue is only cleared, never resent: it is streamed as stored.
    const cleanClient = { id: 'bob/phone', clean: true } as unknown as Client
    expect((await queued(persistence, cleanClient)).map((p) => p.dup)).toEqual([false, false])
  })
})
