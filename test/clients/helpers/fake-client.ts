import { InboxMessage, ResumeRequest, StoredAck, Synced } from '../../../protocol/envelopes.js'
import { LowbandClient, type ClientOptions, type Status } from '../../../clients/sdk/index.js'
import { FakeClock } from './fake-clock.js'
import { fakeTransports, type FakeTransport } from './fake-transport.js'

/** A client of alice/phone on fake transports and a fake clock, with random fixed at 0.5. */
export function fakeClient (options: Partial<ClientOptions> = {}) {
  const clock = new FakeClock()
  const transports = fakeTransports()
  const statuses: Status[] = []
  const client = new LowbandClient({
    url: 'mqtt://broker.invalid', userId: 'alice', deviceId: 'phone', token: 't', clock, random: () => 0.5, transportFactory: transports.factory, ...options
  })
  client.onStatus((s) => statuses.push(s))
  return { client, clock, transports, statuses }
}

/** Accepts the CONNACK and the SUBACK of `transport`: the client is then connected. */
export async function open (transport: FakeTransport): Promise<void> {
  transport.accept()
  await transport.until(() => transport.subscribes.length === 1)
  transport.subscribes[0]!.resolve()
}

/** Runs `act` and resolves with the first status of `type` it leads to. */
export async function statusAfter<T extends Status['type']> (client: LowbandClient, type: T, act: () => void): Promise<Extract<Status, { type: T }>> {
  const seen = new Promise<Status>((resolve) => {
    const off = client.onStatus((s) => {
      if (s.type !== type) return
      off()
      resolve(s)
    })
  })
  act()
  return await seen as Extract<Status, { type: T }>
}

export function resumeCursors (transport: FakeTransport): number[] {
  return transport.published('c/r').map((p) => ResumeRequest.decode(p.payload).cursor)
}

export function inboxMessage (seq: number, extra: Partial<InboxMessage> = {}): Uint8Array {
  return InboxMessage.encode({ from: 'bob', body: `#${seq}`, seq, cseq: seq, ts: 1_700_000_000, ...extra })
}

export function storedAck (clientMsgId: Uint8Array, seq: number): Uint8Array {
  return StoredAck.encode({ clientMsgId, seq, cseq: seq })
}

export function synced (seq: number): Uint8Array {
  return Synced.encode({ seq })
}
