import type { Committer } from './committer.js'
import type { StoreCore } from './core.js'
import { keys } from './keys.js'

/**
 * How long an advanced device cursor may wait in memory before it is written, ms. One synced batch
 * per interval for every device together, instead of one per PUBACK: a cursor that lags after a
 * crash only makes the next resume replay a few entries the SDK drops as duplicates.
 */
export const DEVICE_CURSOR_FLUSH_MS = 1000

/**
 * Each device's delivery cursor (see MessageStore.deviceCursor): known ones in memory, advanced
 * there, and written together once per interval and at close.
 */
export class DeviceCursors {
  readonly #core: StoreCore
  readonly #committer: Committer
  readonly #known = new Map<string, number>()
  readonly #dirty = new Set<string>()
  #timer: NodeJS.Timeout | undefined
  #writing: Promise<void> = Promise.resolve()

  constructor (core: StoreCore, committer: Committer) {
    this.#core = core
    this.#committer = committer
  }

  get (userId: string, deviceId: string): Promise<number | undefined> {
    const key = keys.deviceCursor(userId, deviceId)
    return Promise.resolve(this.#known.get(key) ?? this.#stored(key))
  }

  advance (userId: string, deviceId: string, seq: number): void {
    const key = keys.deviceCursor(userId, deviceId)
    const known = this.#known.get(key) ?? this.#stored(key)
    if (known !== undefined && known >= seq) return
    this.#known.set(key, seq)
    this.#dirty.add(key)
    this.#timer ??= setTimeout(() => { void this.flush() }, DEVICE_CURSOR_FLUSH_MS).unref()
  }

  /** Writes every cursor advanced since the last write; never rejects (a failure waits for the next one). */
  flush (): Promise<void> {
    clearTimeout(this.#timer)
    this.#timer = undefined
    if (this.#dirty.size === 0) return this.#writing
    const ops = [...this.#dirty].map((key) => ({ type: 'put' as const, key, value: Buffer.from(String(this.#known.get(key))) }))
    this.#dirty.clear()
    this.#writing = this.#writing.then(() => this.#committer.write(ops)).catch(() => {
      // The store is suspect; the guard says so. These cursors only save replay bytes: they are
      // written again when they next move.
    })
    return this.#writing
  }

  /** After a reopen: what is in memory may not have been written. */
  forget (): void {
    this.#known.clear()
    this.#dirty.clear()
  }

  #stored (key: string): number | undefined {
    const stored = this.#core.get(key)
    return stored === undefined ? undefined : Number(Buffer.from(stored).toString())
  }
}
