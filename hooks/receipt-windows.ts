/** The default window: long enough to take in a burst's deliveries, short next to a 2G round trip. */
export const DEFAULT_RECEIPT_WINDOW_MS = 50

/** Starts a timer and returns what cancels it; injectable so tests drive windows exactly. */
export type SetTimer = (delayMs: number, callback: () => void) => () => void

/** Real timers that do not keep the process alive on their own. */
export const systemTimer: SetTimer = (delayMs, callback) => {
  const timer = setTimeout(callback, delayMs)
  timer.unref()
  return () => clearTimeout(timer)
}

interface Window {
  /** A move arrived during the window: flush when it ends. */
  held: boolean
  readonly cancel: () => void
}

/**
 * Delivered receipts coalesced per conversation (invariant 7). A conversation is either quiet or
 * in a window of `windowMs`:
 *
 * - a move in a quiet conversation is flushed at once — nothing else is pending for it, so waiting
 *   would only delay the tick — and opens a window;
 * - moves during the window are held;
 * - when the window ends, what is held is flushed and a new window opens; with nothing held the
 *   conversation is quiet again.
 *
 * So each sender gets at most one delivered receipt per conversation per window (one flush writes
 * one watermark per sender), the first after a quiet spell without delay, and none later than one
 * window after the delivery it reports. With `windowMs` 0 every move is flushed at once.
 */
export class ReceiptWindows {
  readonly #windowMs: number
  readonly #flush: (conversation: string) => Promise<void>
  readonly #setTimer: SetTimer
  readonly #windows = new Map<string, Window>()
  readonly #running = new Set<Promise<void>>()
  #closed = false

  /** `flush` writes and sends a conversation's receipts; it handles its own errors. */
  constructor (windowMs: number, flush: (conversation: string) => Promise<void>, setTimer: SetTimer = systemTimer) {
    this.#windowMs = windowMs
    this.#flush = flush
    this.#setTimer = setTimer
  }

  /** The delivery state of `conversation` moved. */
  moved (conversation: string): void {
    if (this.#closed) return
    const window = this.#windows.get(conversation)
    if (window !== undefined) {
      window.held = true
      return
    }
    this.#flushAndOpen(conversation)
  }

  /** Conversations in a window now. */
  get open (): number {
    return this.#windows.size
  }

  /** Flushes what every window holds, now, and opens no more (shutdown; the store writes what comes later). */
  async close (): Promise<void> {
    this.#closed = true
    const held = [...this.#windows].filter(([, window]) => window.held).map(([conversation]) => conversation)
    for (const window of this.#windows.values()) window.cancel()
    this.#windows.clear()
    for (const conversation of held) this.#run(conversation)
    await Promise.all([...this.#running])
  }

  #flushAndOpen (conversation: string): void {
    if (this.#windowMs > 0) {
      this.#windows.set(conversation, { held: false, cancel: this.#setTimer(this.#windowMs, () => this.#end(conversation)) })
    }
    this.#run(conversation)
  }

  #end (conversation: string): void {
    const window = this.#windows.get(conversation)
    this.#windows.delete(conversation)
    if (window?.held === true && !this.#closed) this.#flushAndOpen(conversation)
  }

  #run (conversation: string): void {
    const flushing = this.#flush(conversation).finally(() => this.#running.delete(flushing))
    this.#running.add(flushing)
  }
}
