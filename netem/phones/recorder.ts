import type { ChatMessage } from '../../clients/sdk/index.js'
import type { DeliveryRecord, SentRecord } from '../run/types.js'
import { settlesWithin } from '../run/wait.js'

/** What a send resolves with, whichever client sent it: the message id (as the SDK derives it) and the conversation seq. */
export interface Stored {
  id: string
  cseq: number
}

export type SendBody = (body: string) => Promise<Stored>

const TAG = /^lbn\/(\d+)\//

/** A message to the app, as the recorder needs it (an SDK ChatMessage fits). */
export type Delivered = Pick<ChatMessage, 'id' | 'from' | 'to' | 'seq' | 'cseq' | 'body'> & { group?: string }

/**
 * The ledger of one scenario: every send and every message handed to an app,
 * timed on one clock (all phones live in this one process, so latency is
 * recipient time minus sender time without clock sync). It classifies each
 * delivery as it happens: a message id seen before by that recipient is a
 * duplicate surfaced to the app; a cseq below one already handed over from the
 * same sender in the same conversation, or an inbox seq below the last, is an
 * order violation.
 */
export class Recorder {
  readonly t0Ns = process.hrtime.bigint()
  readonly sent: SentRecord[] = []
  readonly deliveries: DeliveryRecord[] = []
  readonly errors: string[] = []
  readonly #bodyChars: number
  readonly #onProgress: (delivered: number, expected: number, phase: string) => void
  readonly #idsSeen = new Map<string, Set<string>>()
  readonly #lastCseq = new Map<string, number>()
  readonly #lastSeq = new Map<string, number>()
  /** `${index}>${recipient}` of every first delivery. */
  readonly #firstDeliveries = new Set<string>()
  readonly #pending = new Set<Promise<void>>()
  #expected = 0
  #phase = ''
  #lastProgressMs = -Infinity

  constructor(bodyChars: number, onProgress: (delivered: number, expected: number, phase: string) => void) {
    this.#bodyChars = bodyChars
    this.#onProgress = onProgress
  }

  nowMs(): number {
    return Number(process.hrtime.bigint() - this.t0Ns) / 1e6
  }

  set phase(phase: string) {
    this.#phase = phase
    this.#reportProgress(true)
  }

  get phase(): string {
    return this.#phase
  }

  /** "lbn/<index>/" padded with x to the planned length: the recipient reads the index back. */
  body(index: number): string {
    const tag = `lbn/${index}/`
    return tag.padEnd(Math.max(this.#bodyChars, tag.length), 'x')
  }

  /**
   * Starts one send through `send` and returns its record at once (filled in
   * when the broker confirms), so a burst can go out without waiting.
   */
  launch(send: SendBody, from: string, recipients: readonly string[]): SentRecord {
    const record: SentRecord = { index: this.sent.length, phase: this.#phase, from, recipients: [...recipients], sentMs: this.nowMs() }
    this.sent.push(record)
    this.#expected += recipients.length
    const settled = send(this.body(record.index)).then(
      (stored) => {
        record.storedMs = this.nowMs()
        record.id = stored.id
        record.cseq = stored.cseq
      },
      (error: unknown) => {
        record.error = error instanceof Error ? error.message : String(error)
      }
    )
    this.#pending.add(settled)
    void settled.finally(() => this.#pending.delete(settled))
    return record
  }

  /** Waits until every send so far is stored or failed, for at most `timeoutMs`; false if some are still open. */
  settled(timeoutMs: number): Promise<boolean> {
    return settlesWithin(Promise.all([...this.#pending]), timeoutMs)
  }

  /** Called from a recipient's onMessage; messages not sent by this scenario (group events) are ignored. */
  delivered(recipient: string, message: Delivered): void {
    const atMs = this.nowMs()
    const index = typeof message.body === 'string' ? Number(TAG.exec(message.body)?.[1] ?? Number.NaN) : Number.NaN
    const record = this.sent[index]
    if (record === undefined) return
    let ids = this.#idsSeen.get(recipient)
    if (!ids) this.#idsSeen.set(recipient, (ids = new Set()))
    const duplicate = ids.has(message.id)
    ids.add(message.id)
    let outOfOrder = false
    if (!duplicate) {
      const conversation = `${recipient}|${message.group ?? message.from}|${message.from}`
      outOfOrder = message.cseq < (this.#lastCseq.get(conversation) ?? 0) || message.seq < (this.#lastSeq.get(recipient) ?? 0)
      this.#lastCseq.set(conversation, Math.max(message.cseq, this.#lastCseq.get(conversation) ?? 0))
      this.#lastSeq.set(recipient, Math.max(message.seq, this.#lastSeq.get(recipient) ?? 0))
      this.#firstDeliveries.add(`${index}>${recipient}`)
    }
    this.deliveries.push({ index, to: recipient, atMs, id: message.id, cseq: message.cseq, duplicate, outOfOrder })
    this.#reportProgress(false)
  }

  error(error: string): void {
    this.errors.push(error)
  }

  isDelivered(index: number, recipient: string): boolean {
    return this.#firstDeliveries.has(`${index}>${recipient}`)
  }

  /** Recipients still waiting for any of `records`. */
  missing(records: readonly SentRecord[]): number {
    let missing = 0
    for (const r of records) for (const to of r.recipients) if (!this.isDelivered(r.index, to)) missing++
    return missing
  }

  #reportProgress(force: boolean): void {
    const now = this.nowMs()
    const done = this.#firstDeliveries.size
    if (!force && done < this.#expected && now - this.#lastProgressMs < 250) return
    this.#lastProgressMs = now
    this.#onProgress(done, this.#expected, this.#phase)
  }
}
