import type { Client } from 'aedes'
import { Readable } from 'node:stream'
import { isChatTopic } from '../../protocol/topics.js'

/** The part of Aedes 1.2's persistence interface it calls, all promise-style (aedes-persistence 11). */
export interface AedesPersistence {
  setup (broker: unknown): Promise<void>
  storeRetained (packet: { topic: string }): Promise<void>
  createRetainedStreamCombi (patterns: string[]): Readable
  createRetainedStream (pattern: string): Readable
  addSubscriptions (client: Client, subs: unknown[]): Promise<void>
  removeSubscriptions (client: Client, subs: string[]): Promise<void>
  subscriptionsByClient (client: Client): Promise<unknown>
  countOffline (): Promise<{ subscriptions: number, clients: number }>
  subscriptionsByTopic (topic: string): Promise<unknown[]>
  cleanSubscriptions (client: Client): Promise<Client>
  outgoingEnqueue (sub: { clientId: string }, packet: unknown): Promise<void>
  outgoingEnqueueCombi (subs: Array<{ clientId: string }>, packet: unknown): Promise<void>
  outgoingUpdate (client: Client, packet: unknown): Promise<unknown>
  outgoingClearMessageId (client: Client, packet: unknown): Promise<unknown>
  outgoingStream (client: Client): Readable
  incomingStorePacket (client: Client, packet: unknown): Promise<void>
  incomingGetPacket (client: Client, packet: unknown): Promise<unknown>
  incomingDelPacket (client: Client, packet: unknown): Promise<void>
  cleanIncoming?: (client: Client) => Promise<void>
  putWill (client: Client, packet: unknown): Promise<unknown>
  getWill (client: Client): Promise<unknown>
  delWill (client: Client): Promise<unknown>
  streamWill (brokers?: unknown): Readable
  getClientList (topic: string): Readable
  destroy (): Promise<void>
}

/** Chat devices authenticate as `<user>/<device>` (authenticate.ts refuses any other id with a token). */
function isChatClient (clientId: string): boolean {
  const slash = clientId.indexOf('/')
  return slash > 0 && slash === clientId.lastIndexOf('/') && slash < clientId.length - 1
}

function concat (...streams: Readable[]): Readable {
  return Readable.from((async function * () {
    for (const stream of streams) yield * stream
  })())
}

/**
 * Aedes' session state on a cluster node: chat devices keep theirs in the node's memory
 * (session-persistence.ts — the message store is their truth, and a device that moves to another
 * node resumes from its cursor), open-mode MQTT clients in Redis (aedes-persistence-redis), so
 * their sessions, subscriptions, retained messages and wills outlive the node they were on.
 */
export class SplitPersistence implements AedesPersistence {
  readonly #chat: AedesPersistence
  readonly #shared: AedesPersistence

  constructor (chat: AedesPersistence, shared: AedesPersistence) {
    this.#chat = chat
    this.#shared = shared
  }

  #of (clientId: string): AedesPersistence {
    return isChatClient(clientId) ? this.#chat : this.#shared
  }

  async setup (broker: unknown): Promise<void> {
    await this.#chat.setup(broker)
    await this.#shared.setup(broker)
  }

  // Retained messages: chat topics are never retained (authorize-publish), so all live in Redis.
  storeRetained (packet: { topic: string }): Promise<void> { return (isChatTopic(packet.topic) ? this.#chat : this.#shared).storeRetained(packet) }
  createRetainedStreamCombi (patterns: string[]): Readable { return this.#shared.createRetainedStreamCombi(patterns) }
  createRetainedStream (pattern: string): Readable { return this.#shared.createRetainedStream(pattern) }

  addSubscriptions (client: Client, subs: unknown[]): Promise<void> { return this.#of(client.id).addSubscriptions(client, subs) }
  removeSubscriptions (client: Client, subs: string[]): Promise<void> { return this.#of(client.id).removeSubscriptions(client, subs) }
  subscriptionsByClient (client: Client): Promise<unknown> { return this.#of(client.id).subscriptionsByClient(client) }
  cleanSubscriptions (client: Client): Promise<Client> { return this.#of(client.id).cleanSubscriptions(client) }

  async countOffline (): Promise<{ subscriptions: number, clients: number }> {
    const [a, b] = await Promise.all([this.#chat.countOffline(), this.#shared.countOffline()])
    return { subscriptions: a.subscriptions + b.subscriptions, clients: a.clients + b.clients }
  }

  /** A chat topic has only chat subscribers; an open-mode topic may have both (a device under --topic-policy open). */
  async subscriptionsByTopic (topic: string): Promise<unknown[]> {
    if (isChatTopic(topic)) return this.#chat.subscriptionsByTopic(topic)
    const [chat, shared] = await Promise.all([this.#chat.subscriptionsByTopic(topic), this.#shared.subscriptionsByTopic(topic)])
    return [...chat, ...shared]
  }

  outgoingEnqueue (sub: { clientId: string }, packet: unknown): Promise<void> { return this.#of(sub.clientId).outgoingEnqueue(sub, packet) }

  async outgoingEnqueueCombi (subs: Array<{ clientId: string }>, packet: unknown): Promise<void> {
    const chat = subs.filter((sub) => isChatClient(sub.clientId))
    const shared = subs.filter((sub) => !isChatClient(sub.clientId))
    await Promise.all([chat.length > 0 ? this.#chat.outgoingEnqueueCombi(chat, packet) : undefined, shared.length > 0 ? this.#shared.outgoingEnqueueCombi(shared, packet) : undefined])
  }

  outgoingUpdate (client: Client, packet: unknown): Promise<unknown> { return this.#of(client.id).outgoingUpdate(client, packet) }
  outgoingClearMessageId (client: Client, packet: unknown): Promise<unknown> { return this.#of(client.id).outgoingClearMessageId(client, packet) }
  outgoingStream (client: Client): Readable { return this.#of(client.id).outgoingStream(client) }
  incomingStorePacket (client: Client, packet: unknown): Promise<void> { return this.#of(client.id).incomingStorePacket(client, packet) }
  incomingGetPacket (client: Client, packet: unknown): Promise<unknown> { return this.#of(client.id).incomingGetPacket(client, packet) }
  incomingDelPacket (client: Client, packet: unknown): Promise<void> { return this.#of(client.id).incomingDelPacket(client, packet) }
  async cleanIncoming (client: Client): Promise<void> { await this.#of(client.id).cleanIncoming?.(client) }
  putWill (client: Client, packet: unknown): Promise<unknown> { return this.#of(client.id).putWill(client, packet) }
  getWill (client: Client): Promise<unknown> { return this.#of(client.id).getWill(client) }
  delWill (client: Client): Promise<unknown> { return this.#of(client.id).delWill(client) }
  streamWill (brokers?: unknown): Readable { return concat(this.#chat.streamWill(brokers), this.#shared.streamWill(brokers)) }
  getClientList (topic: string): Readable { return concat(this.#chat.getClientList(topic), this.#shared.getClientList(topic)) }

  async destroy (): Promise<void> {
    await Promise.all([this.#chat.destroy(), this.#shared.destroy()])
  }
}
