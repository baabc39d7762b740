import type { MqttClient } from 'mqtt'
import { classifyUserTopic } from '../../protocol/topics.js'

export interface Received { topic: string, payload: Buffer }

/** Collects what a client receives, and waits for what a test expects. */
export class Inbox {
  readonly received: Received[] = []
  readonly #waiters = new Set<() => void>()

  constructor (client: MqttClient) {
    client.on('message', (topic, payload) => {
      this.received.push({ topic, payload })
      for (const wake of this.#waiters) wake()
    })
  }

  /** What arrived on topics ending in `suffix` ('/r', '/o/phone'), or on the inbox topic `u/<user>` for 'inbox'. */
  on (suffix: string): Received[] {
    if (suffix === 'inbox') return this.received.filter((r) => classifyUserTopic(r.topic)?.kind === 'inbox')
    return this.received.filter((r) => r.topic.endsWith(suffix))
  }

  /** Resolves when `count` messages on topics ending in `suffix` (or 'inbox', see on) have arrived. */
  async wait (suffix: string, count = 1, timeoutMs = 5000): Promise<Received[]> {
    await this.until(() => this.on(suffix).length >= count, timeoutMs, () => `${count} on *${suffix}; got ${this.on(suffix).length}`)
    return this.on(suffix)
  }

  /** Resolves when `done()` holds, checked after every arrival. */
  async until (done: () => boolean, timeoutMs = 5000, what: () => string = () => 'a condition'): Promise<void> {
    const deadline = Date.now() + timeoutMs
    while (!done()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what()}`)
      await new Promise<void>((resolve) => {
        const wake = (): void => { clearTimeout(timer); this.#waiters.delete(wake); resolve() }
        const timer = setTimeout(wake, Math.max(0, deadline - Date.now()))
        this.#waiters.add(wake)
      })
    }
  }
}

/** The PUBACKs a raw MQTT client receives, by message id. */
export function pubacks (client: MqttClient): number[] {
  const ids: number[] = []
  client.on('packetreceive', (packet) => { if (packet.cmd === 'puback') ids.push(packet.messageId!) })
  return ids
}
