import { OP, Request, type OpName, type Response } from '../../protocol/requests.js'
import { COMMAND } from '../../protocol/topics.js'
import type { CancelTimer, Clock } from './clock.js'
import { errorFromNotice, RequestTimeoutError } from './errors.js'
import type { Transport } from './transport.js'

/**
 * Ops that may be sent twice without harm. The broker does not deduplicate requests, so creating
 * a group, adding, removing, leaving or renaming is sent once: a second try would create a second
 * group or fail with ALREADY_MEMBER / NOT_MEMBER after the first had worked.
 */
const REPEATABLE: ReadonlySet<number> = new Set<number>([OP.history, OP.setPrivacy, OP.addContact, OP.removeContact, OP.promote, OP.demote, OP.groupInfo, OP.listGroups,
  OP.registerPush, OP.unregisterPush, OP.listPush, OP.publishKeys,
  // A repeated upload slot only leaves an unused slot behind (expired by the orphan sweep).
  OP.mediaUpload, OP.mediaParts, OP.mediaComplete, OP.mediaDownload])

interface Pending {
  readonly rid: number
  readonly op: OpName
  readonly payload: Uint8Array
  readonly repeatable: boolean
  attempts: number
  /** The transport it was last published on; a new connection's responses will not answer it. */
  publishedOn: Transport | undefined
  cancelTimer: CancelTimer
  readonly resolve: (result: unknown) => void
  readonly reject: (error: Error) => void
}

/**
 * Request/response over MQTT: a Request on `c/q` with a fresh rid, answered by the Response of the
 * same rid on `u/<self>/q` (QoS 0, so it can be lost). A repeatable request that gets no answer
 * within the timeout is sent once more, with the same rid so a late first answer still counts;
 * otherwise it fails with RequestTimeoutError. A coded answer rejects with its LowbandError.
 */
export class Requests {
  readonly #clock: Clock
  readonly #timeoutMs: number
  readonly #transport: () => Transport | undefined
  readonly #pending = new Map<number, Pending>()
  #nextRid = 1

  constructor (clock: Clock, timeoutMs: number, transport: () => Transport | undefined) {
    this.#clock = clock
    this.#timeoutMs = timeoutMs
    this.#transport = transport
  }

  /** Resolves with the op's result (CBOR as decoded; the caller validates it). Offline, it waits for a connection until the timeout. */
  request (op: OpName, args?: Map<number, unknown>): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const rid = this.#nextRid++
      const pending: Pending = {
        rid,
        op,
        payload: Request.encode({ rid, op: OP[op], ...(args === undefined ? {} : { args }) }),
        repeatable: REPEATABLE.has(OP[op]),
        attempts: 1,
        publishedOn: undefined,
        cancelTimer: () => {},
        resolve,
        reject
      }
      this.#pending.set(rid, pending)
      pending.cancelTimer = this.#timer(pending)
      this.#publish(pending, this.#transport())
    })
  }

  response (response: Response): void {
    const pending = this.#pending.get(response.rid)
    // An answer nobody waits for: it timed out, or it belongs to an earlier client of this device.
    if (pending === undefined) return
    this.#settle(pending)
    if (response.code === undefined) pending.resolve(response.result)
    else pending.reject(errorFromNotice({ code: response.code, detail: response.detail }))
  }

  /** A new connection: publish what waited offline, and repeat what the old connection's answers would have gone to. */
  opened (transport: Transport): void {
    for (const pending of this.#pending.values()) {
      if (pending.publishedOn === undefined || pending.repeatable) this.#publish(pending, transport)
    }
  }

  failAll (error: Error): void {
    for (const pending of [...this.#pending.values()]) {
      this.#settle(pending)
      pending.reject(error)
    }
  }

  #publish (pending: Pending, transport: Transport | undefined): void {
    if (transport === undefined) return
    pending.publishedOn = transport
    transport.publish(COMMAND.request, pending.payload, 1).catch(() => { /* lost with the connection; see opened() */ })
  }

  #timer (pending: Pending): CancelTimer {
    return this.#clock.setTimer(this.#timeoutMs, () => {
      if (!pending.repeatable || pending.attempts >= 2) {
        this.#settle(pending)
        pending.reject(new RequestTimeoutError(pending.op, this.#timeoutMs, pending.attempts))
        return
      }
      pending.attempts++
      pending.cancelTimer = this.#timer(pending)
      this.#publish(pending, this.#transport())
    })
  }

  #settle (pending: Pending): void {
    pending.cancelTimer()
    this.#pending.delete(pending.rid)
  }
}
