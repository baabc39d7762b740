import type { InboxMessage, Receipt } from '../../protocol/envelopes.js'
import type { CancelTimer, Clock } from './clock.js'

/**
 * What fills one seq of the user's inbox for this device: a message, a receipt, or (for a message
 * this device sent) its stored-ack. The inbox seq stream is gap-free, so every seq is one of them.
 */
export type InboxSlot =
  | { readonly type: 'message', readonly message: InboxMessage }
  | { readonly type: 'receipt', readonly receipt: Receipt }
  | { readonly type: 'sent' }

export interface SequencerEvents {
  /** A message or receipt, in seq order, exactly once per seq. */
  deliver (slot: Exclude<InboxSlot, { type: 'sent' }>): void
  /** The cursor moved to `cursor` (after the message at that seq was delivered). */
  cursor (cursor: number): void
  /** The cursor reached the head announced by a Synced. */
  caughtUp (cursor: number): void
  /** A gap stayed open for the gap timeout: ask the broker to replay after `cursor`. */
  gap (cursor: number): void
}

/**
 * Puts the inbox back in order. Live messages interleave with a resume replay, so seqs can arrive
 * out of order: seq == cursor+1 is delivered (then any buffered successors), a later seq waits in
 * the buffer, an earlier one is a duplicate. A gap that makes no progress for `gapTimeoutMs` asks
 * for a replay from the cursor; every step forward restarts that timer, so a long replay that is
 * still flowing is not asked for twice.
 */
export class InboxSequencer {
  readonly #clock: Clock
  readonly #gapTimeoutMs: number
  readonly #events: SequencerEvents
  readonly #buffer = new Map<number, InboxSlot>()
  #cursor: number
  /** The head of the last Synced still ahead of the cursor; undefined once reached. */
  #target: number | undefined
  #cancelGapTimer: CancelTimer | undefined

  constructor (cursor: number, clock: Clock, gapTimeoutMs: number, events: SequencerEvents) {
    this.#cursor = cursor
    this.#clock = clock
    this.#gapTimeoutMs = gapTimeoutMs
    this.#events = events
  }

  get cursor (): number {
    return this.#cursor
  }

  /** Seqs waiting for a predecessor. */
  get buffered (): number {
    return this.#buffer.size
  }

  accept (seq: number, slot: InboxSlot): void {
    if (seq <= this.#cursor || this.#buffer.has(seq)) return
    this.#buffer.set(seq, slot)
    this.#drain()
  }

  /** A Synced: the inbox head was `head` when the replay ended. */
  synced (head: number): void {
    this.#target = head
    this.#drain()
  }

  /** While disconnected nobody can answer a replay request; the resume on reconnect covers it. */
  pause (): void {
    this.#cancelGapTimer?.()
    this.#cancelGapTimer = undefined
  }

  /** Connected again: a gap still open gets its timer back. */
  restart (): void {
    this.#armGapTimer(true)
  }

  #drain (): void {
    let moved = false
    for (let next = this.#buffer.get(this.#cursor + 1); next !== undefined; next = this.#buffer.get(this.#cursor + 1)) {
      const seq = this.#cursor + 1
      this.#buffer.delete(seq)
      if (next.type !== 'sent') this.#events.deliver(next)
      this.#cursor = seq
      moved = true
      this.#events.cursor(seq)
    }
    if (this.#target !== undefined && this.#cursor >= this.#target) {
      this.#target = undefined
      this.#events.caughtUp(this.#cursor)
    }
    this.#armGapTimer(moved)
  }

  #hasGap (): boolean {
    return this.#buffer.size > 0 || this.#target !== undefined
  }

  /** Progress restarts the timer; no progress keeps a running one. */
  #armGapTimer (progress: boolean): void {
    if (!this.#hasGap()) return this.pause()
    if (this.#cancelGapTimer !== undefined && !progress) return
    this.#cancelGapTimer?.()
    this.#cancelGapTimer = this.#clock.setTimer(this.#gapTimeoutMs, () => {
      this.#cancelGapTimer = undefined
      if (!this.#hasGap()) return
      this.#events.gap(this.#cursor)
      // Keep asking while the gap stays open (the replay request itself may be lost).
      this.#armGapTimer(true)
    })
  }
}
