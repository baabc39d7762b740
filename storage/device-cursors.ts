/**
 * How long an advanced device cursor may wait in memory before it is written, ms. One write per
 * interval for every device together, instead of one per PUBACK: a cursor that lags after a crash
 * only makes the next resume replay a few entries the SDK drops as duplicates.
 */
export const DEVICE_CURSOR_FLUSH_MS = 1000

export interface DeviceCursor { userId: string, deviceId: string, seq: number }

/** Where an adapter keeps device cursors. `write` keeps the greater of a stored and a written seq. */
export interface CursorRecords {
  read (userId: string, deviceId: string): Promise<number | undefined>
  write (cursors: DeviceCursor[]): Promise<void>
}

/**
 * Each device's delivery cursor (MessageStore.deviceCursor), for every adapter: advanced in memory,
 * written together once per interval and at close.
 */
export class DeviceCursors {
  readonly #records: CursorRecords
  /** Advanced since the last write, by `<userId>\0<deviceId>`. */
  readonly #pending = new Map<string, DeviceCursor>()
  #timer: ReturnType<typeof setTimeout> | undefined
  #writing: Promise<void> = Promise.resolve()

  constructor (records: CursorRecords) {
    this.#records = records
  }

  async get (userId: string, deviceId: string): Promise<number | undefined> {
    const pending = this.#pending.get(keyOf(userId, deviceId))?.seq
    const stored = await this.#records.read(userId, deviceId)
    return pending === undefined ? stored : Math.max(pending, stored ?? 0)
  }

  advance (userId: string, deviceId: string, seq: number): void {
    const key = keyOf(userId, deviceId)
    const pending = this.#pending.get(key)
    if (pending !== undefined && pending.seq >= seq) return
    this.#pending.set(key, { userId, deviceId, seq })
    this.#timer ??= setTimeout(() => { void this.flush() }, DEVICE_CURSOR_FLUSH_MS)
    // Never keeps a process alive on its own (Node); a browser has no unref.
    ;(this.#timer as { unref?: () => void }).unref?.()
  }

  /** Writes every cursor advanced since the last write; never rejects (a failure waits for the next advance). */
  flush (): Promise<void> {
    clearTimeout(this.#timer)
    this.#timer = undefined
    if (this.#pending.size === 0) return this.#writing
    const cursors = [...this.#pending.values()]
    this.#pending.clear()
    this.#writing = this.#writing.then(() => this.#records.write(cursors)).catch(() => {
      // The store is suspect; its health says so. Cursors only save replay bytes.
    })
    return this.#writing
  }

  /** After a reopen: what waits here may be written again later, harmlessly. */
  forget (): void {
    this.#pending.clear()
  }
}

function keyOf (userId: string, deviceId: string): string {
  return `${userId}\0${deviceId}`
}
