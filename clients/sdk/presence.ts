import type { PresenceUpdate } from '../../protocol/envelopes.js'
import { presenceTopic } from '../../protocol/topics.js'
import type { Transport } from './transport.js'

/** A watched contact's presence. */
export interface Presence {
  readonly contact: string
  readonly online: boolean
  /** When the contact was last online, Unix seconds; only when offline and their privacy allows. */
  readonly lastSeen?: number
}

/**
 * Watching contacts' presence, on demand (an app watches the contact of the open chat). Watching
 * is a subscription to `u/<self>/p/<contact>`, which the broker forgets with the connection, so
 * every watched contact is subscribed again on every new connection; the broker then sends the
 * current state at once.
 */
export class PresenceWatcher {
  readonly #self: string
  readonly #transport: () => Transport | undefined
  readonly #changed: (presence: Presence) => void
  readonly #failed: (error: Error) => void
  readonly #watched = new Set<string>()
  readonly #known = new Map<string, Presence>()
  /** Unwatched while offline: a persistent session may still hold the subscription. */
  readonly #stale = new Set<string>()

  constructor (self: string, transport: () => Transport | undefined, changed: (presence: Presence) => void, failed: (error: Error) => void) {
    this.#self = self
    this.#transport = transport
    this.#changed = changed
    this.#failed = failed
  }

  get watched (): string[] {
    return [...this.#watched]
  }

  /** The last state heard of a watched contact. */
  presence (contact: string): Presence | undefined {
    return this.#watched.has(contact) ? this.#known.get(contact) : undefined
  }

  watch (contact: string): void {
    if (this.#watched.has(contact)) return
    this.#watched.add(contact)
    this.#stale.delete(contact)
    const transport = this.#transport()
    if (transport !== undefined) this.#subscribe(transport, contact)
  }

  unwatch (contact: string): void {
    if (!this.#watched.delete(contact)) return
    this.#known.delete(contact)
    const transport = this.#transport()
    if (transport === undefined) this.#stale.add(contact)
    else this.#unsubscribe(transport, contact)
  }

  opened (transport: Transport): void {
    for (const contact of this.#stale) this.#unsubscribe(transport, contact)
    this.#stale.clear()
    for (const contact of this.#watched) this.#subscribe(transport, contact)
  }

  update (contact: string, update: PresenceUpdate): void {
    // A late update after unwatch() is no longer anyone's business.
    if (!this.#watched.has(contact)) return
    const presence: Presence = { contact, online: update.online, ...(update.online || update.lastSeen === undefined ? {} : { lastSeen: update.lastSeen }) }
    this.#known.set(contact, presence)
    this.#changed(presence)
  }

  #subscribe (transport: Transport, contact: string): void {
    transport.subscribe(presenceTopic(this.#self, contact), 0).catch((error: unknown) => this.#report(error))
  }

  #unsubscribe (transport: Transport, contact: string): void {
    transport.unsubscribe(presenceTopic(this.#self, contact)).catch((error: unknown) => this.#report(error))
  }

  #report (error: unknown): void {
    // A lost connection is not worth reporting: opened() subscribes again on the next one.
    if (this.#transport() === undefined) return
    this.#failed(error instanceof Error ? error : new Error(String(error)))
  }
}
