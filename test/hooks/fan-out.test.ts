import type { PublishPacket } from 'aedes'
import { describe, expect, it } from 'vitest'
import type { HookContext } from '../../hooks/context.js'
import { fanOut } from '../../hooks/fan-out.js'
import { KIND } from '../../protocol/envelopes.js'
import type { StoredMessage } from '../../storage/contracts.js'

/** Which devices are connected, as `<user>/<device>`; the topics fanOut publishes to. */
function fanOutWith (connected: string[], message: StoredMessage, seqs: Record<string, number>): Promise<string[]> {
  const topics: string[] = []
  const devicesOf = (user: string): string[] => connected.filter((id) => id.startsWith(`${user}/`))
  const ctx = {
    presence: {
      isOnline: (user: string) => devicesOf(user).length > 0,
      hasOtherDevice: (user: string, device: string) => devicesOf(user).some((id) => id !== `${user}/${device}`)
    },
    broker: () => ({ id: 'b', publish (packet: PublishPacket, done: (error?: Error) => void) { topics.push(packet.topic); done() } })
  } as unknown as HookContext
  return fanOut(ctx, message, seqs).then(() => topics.sort())
}

const message: StoredMessage = { id: 'm', conversation: 'alice|bob', cseq: 1, from: 'alice', fromDevice: 'phone', to: 'bob', body: 'hi', kind: KIND.text, ts: 1, clientMsgId: 'c' }
const seqs = { alice: 1, bob: 1 }

describe('fanOut', () => {
  it('publishes to the recipient and, when the sender has another device connected, the echo', async () => {
    expect(await fanOutWith(['alice/phone', 'alice/laptop', 'bob/phone'], message, seqs)).toEqual(['u/alice/o/phone', 'u/bob'])
  })

  it('publishes nothing that no connected device would receive', async () => {
    // Only the sending device: no echo. The recipient offline: no delivery (it resumes from the store).
    expect(await fanOutWith(['alice/phone', 'bob/phone'], message, seqs)).toEqual(['u/bob'])
    expect(await fanOutWith(['alice/phone'], message, seqs)).toEqual([])
    // The sending device already gone, the laptop still there: the laptop gets its echo.
    expect(await fanOutWith(['alice/laptop'], message, seqs)).toEqual(['u/alice/o/phone'])
  })
})
