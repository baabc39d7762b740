import { describe, expect, it } from 'vitest'
import { ResumeRequest } from '../../protocol/envelopes.js'
import { fakeClient, inboxMessage, open, statusAfter } from './helpers/fake-client.js'

describe('SDK on weak links (fake transport, fake clock)', () => {
  it('pipelines its resume right behind the CONNECT, with the cursor it holds then, and asks nothing after the CONNACK', async () => {
    const { client, clock, transports } = fakeClient({ cursor: 4 })
    const connected = client.connect()
    const first = await transports.waitFor(1)
    expect(first.options.pipelined?.topic).toBe('c/r')
    expect(ResumeRequest.decode(first.options.pipelined!.payload).cursor).toBe(4)
    await open(first)
    await connected
    first.deliver('u/alice/m', inboxMessage(5))
    await statusAfter(client, 'reconnecting', () => first.drop())
    clock.advance(clock.pending[0]!)
    const second = await transports.waitFor(2)
    expect(ResumeRequest.decode(second.options.pipelined!.payload).cursor).toBe(5)
    await open(second)
    // The pipelined request (seen first, QoS 0) is the only one: the broker's replay follows the CONNACK.
    expect(second.published('c/r').map((p) => p.payload)).toEqual([second.options.pipelined!.payload])
    expect(second.publishes.filter((p) => p.topic === 'c/r').map((p) => p.qos)).toEqual([0])
    await client.close()
  })

  it('sends no resume from a send-only device', async () => {
    const { client, transports } = fakeClient({ sendOnly: true })
    const connected = client.connect()
    const first = await transports.waitFor(1)
    expect(first.options.pipelined).toBeUndefined()
    first.accept()
    await first.until(() => first.subscribes.length === 3)
    for (const s of first.subscribes) s.resolve()
    await connected
    await client.close()
  })
})
