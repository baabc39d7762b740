import type { MQEmitter, Message } from 'mqemitter'
import { INTERNAL_ROOT, isChatTopic } from '../../protocol/topics.js'

type Listener = (message: Message, done: () => void) => void

/**
 * Aedes' message bus for a cluster node: the chat namespace (and lowband's own `$lb/` topics) stays
 * on the node's in-process emitter, everything else — open-mode MQTT topics and Aedes' `$SYS/`
 * announcements, which carry the cross-node session takeover and broker heartbeats — travels
 * through Redis (mqemitter-redis) to every node.
 *
 * Chat stays off it on purpose: mqemitter-redis turns each subscription filter into a Redis
 * (P)SUBSCRIBE, and each device's `u/<self>/#` would be one pattern more that every PUBLISH in Redis
 * is matched against. Chat crosses nodes instead as addressed wake-ups to the one node holding the
 * device (cluster-node.ts).
 */
export class SplitEmitter {
  readonly #local: MQEmitter
  readonly #shared: MQEmitter

  constructor (local: MQEmitter, shared: MQEmitter) {
    this.#local = local
    this.#shared = shared
  }

  get current (): number { return this.#local.current + this.#shared.current }
  get concurrent (): number { return this.#local.concurrent }

  on (filter: string, listener: Listener, done?: () => void): this {
    const targets = this.#emittersOf(filter)
    let pending = targets.length
    for (const emitter of targets) emitter.on(filter, listener, () => { if (--pending === 0) done?.() })
    return this
  }

  removeListener (filter: string, listener: Listener, done?: () => void): void {
    const targets = this.#emittersOf(filter)
    let pending = targets.length
    for (const emitter of targets) emitter.removeListener(filter, listener, () => { if (--pending === 0) done?.() })
  }

  emit (message: Message, done?: (error?: Error) => void): void {
    (staysLocal(message.topic) ? this.#local : this.#shared).emit(message, done)
  }

  close (done: () => void): void {
    this.#local.close(() => this.#shared.close(done))
  }

  /** A filter that can match topics of both kinds (`#`, `+/x`) listens on both buses. */
  #emittersOf (filter: string): MQEmitter[] {
    const first = filter.split('/', 1)[0]!
    const wildcard = first === '#' || first === '+'
    if (wildcard) return [this.#local, this.#shared]
    return [staysLocal(filter) ? this.#local : this.#shared]
  }
}

function staysLocal (topic: string): boolean {
  return isChatTopic(topic) || topic.startsWith(INTERNAL_ROOT)
}
