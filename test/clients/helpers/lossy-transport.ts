import { isSendTopic } from '../../../protocol/topics.js'
import type { Transport, TransportFactory } from '../../../clients/sdk/index.js'

/**
 * Wraps the first transport a factory makes so that its first send is stored by the broker but
 * the device never hears so: the stored-acks are hidden, and when the PUBACK comes the connection
 * is closed instead of reporting it. Later transports only record the 1:1 sends (`s/<to>`).
 */
export function loseFirstConfirmation (inner: TransportFactory): { factory: TransportFactory, lost: Promise<void>, sends: Uint8Array[] } {
  let made = 0
  let reportLost: () => void = () => {}
  const lost = new Promise<void>((resolve) => { reportLost = resolve })
  const sends: Uint8Array[] = []
  const factory: TransportFactory = (options) => new LossyTransport(inner(options), ++made === 1, reportLost, sends)
  return { factory, lost, sends }
}

class LossyTransport implements Transport {
  readonly #inner: Transport
  readonly #onLost: () => void
  readonly #sends: Uint8Array[]
  /** The first transport: hides every stored-ack and loses its first send's PUBACK. */
  readonly #lossy: boolean
  #armed: boolean

  constructor (inner: Transport, lossy: boolean, onLost: () => void, sends: Uint8Array[]) {
    this.#inner = inner
    this.#lossy = lossy
    this.#armed = lossy
    this.#onLost = onLost
    this.#sends = sends
  }

  connect (): Promise<void> { return this.#inner.connect() }
  subscribe (filter: string, qos: 0 | 1): Promise<void> { return this.#inner.subscribe(filter, qos) }
  unsubscribe (filter: string): Promise<void> { return this.#inner.unsubscribe(filter) }
  onClose (handler: (error?: Error) => void): void { this.#inner.onClose(handler) }
  close (): Promise<void> { return this.#inner.close() }

  onMessage (handler: (topic: string, payload: Uint8Array) => void): void {
    this.#inner.onMessage((topic, payload) => {
      if (!this.#lossy || !topic.endsWith('/a')) handler(topic, payload)
    })
  }

  async publish (topic: string, payload: Uint8Array, qos: 0 | 1): Promise<void> {
    if (isSendTopic(topic)) this.#sends.push(payload)
    const acked = this.#inner.publish(topic, payload, qos)
    if (!isSendTopic(topic) || !this.#armed) return acked
    this.#armed = false
    await acked
    // Stored and acknowledged, but the device never sees it: the link dies first.
    await this.#inner.close()
    this.#onLost()
    throw new Error('connection lost before the PUBACK')
  }
}
