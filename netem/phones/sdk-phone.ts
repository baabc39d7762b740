import { fastOpenTransportFactory } from '../../clients/sdk/fast-open-transport.js'
import { LowbandClient, type ClientOptions } from '../../clients/sdk/index.js'
import { PHONE_DEVICE } from '../run/types.js'
import type { Recorder, Stored } from './recorder.js'

/**
 * One simulated phone: the real SDK client, wired to the scenario's recorder.
 * It keeps what a phone app keeps — its cursor — and the delivered receipts
 * it heard, so a scenario can wait for the sender's ✓✓ before it stops counting bytes.
 */
export class SdkPhone {
  readonly userId: string
  readonly client: LowbandClient
  #cursor: number
  readonly #deliveredUpTo = new Map<string, number>()

  private constructor(userId: string, client: LowbandClient, cursor: number) {
    this.userId = userId
    this.client = client
    this.#cursor = cursor
  }

  /**
   * Connects (retrying with the SDK's backoff, as an app that starts on a bad
   * link does) and waits for the first replay to finish.
   */
  static async connect(url: string, userId: string, token: string, recorder: Recorder, timeoutMs: number, cursor = 0, options: Partial<ClientOptions> = {}): Promise<SdkPhone> {
    // A 2G handshake with a token in CONNECT takes several round trips of 1.3 s.
    // Over TCP Fast Open where it is built, as a phone's own stack offers it (iOS Network.framework,
    // Linux): the phone's namespace has the kernel's default, client on.
    const client = new LowbandClient({ url, userId, deviceId: PHONE_DEVICE, token, cursor, connectTimeoutMs: Math.min(timeoutMs, 60_000), transportFactory: fastOpenTransportFactory(), ...options })
    const phone = new SdkPhone(userId, client, cursor)
    client.onMessage((message) => recorder.delivered(userId, message))
    client.onCursor((seq) => {
      phone.#cursor = seq
    })
    client.onReceipt((receipt) => {
      if (receipt.status !== 'delivered') return
      phone.#deliveredUpTo.set(receipt.peer, Math.max(receipt.cseq, phone.#deliveredUpTo.get(receipt.peer) ?? 0))
    })
    client.onError((error) => recorder.error(`${userId}: ${error.message}`))
    await withTimeout(
      (async () => {
        await client.connect({ retry: true })
        await client.synced()
      })(),
      timeoutMs,
      `${userId} did not connect and sync within ${timeoutMs} ms`,
      () => void client.close()
    )
    return phone
  }

  get cursor(): number {
    return this.#cursor
  }

  /** The highest cseq of my messages to `peer` that a delivered receipt confirmed. */
  deliveredUpTo(peer: string): number {
    return this.#deliveredUpTo.get(peer) ?? 0
  }

  sendTo(to: string): (body: string) => Promise<Stored> {
    return async (body) => {
      const result = await this.client.send(to, body)
      return { id: result.id, cseq: result.cseq }
    }
  }

  close(): Promise<void> {
    return this.client.close()
  }
}

export async function withTimeout<T>(work: Promise<T>, ms: number, message: string, onTimeout: () => void = () => undefined): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      onTimeout()
      reject(new Error(message))
    }, ms)
  })
  try {
    return await Promise.race([work, timeout])
  } finally {
    clearTimeout(timer)
  }
}
