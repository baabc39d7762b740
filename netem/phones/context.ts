import { setTimeout as sleep } from 'node:timers/promises'
import { PHONE_DEVICE, type PhoneConfig, type PhoneReport, type ScenarioPlan, type SentRecord, type TrafficWindow } from '../run/types.js'
import type { ClientOptions } from '../../clients/sdk/index.js'
import type { RunnerControl } from './control.js'
import { RawDevice } from './raw-device.js'
import type { Recorder, SendBody } from './recorder.js'
import { SdkPhone, withTimeout } from './sdk-phone.js'

/** Longest wait for one phone to connect and sync: a 2G handshake takes seconds, an outage more. */
const CONNECT_TIMEOUT_MS = 90_000
/** How long a scenario waits for the sender's delivered receipts before it stops counting bytes. */
const RECEIPT_WAIT_MS = 15_000
/** Bound on closing the clients at the end (a dead link must not hang the run). */
const CLOSE_TIMEOUT_MS = 5_000

/**
 * Everything a scenario script uses: its plan, phones to connect, the
 * recorder, the runner's link controls, and measured traffic windows. It
 * remembers every client it opened, so closeAll() can end them whatever happened.
 */
export class ScenarioContext {
  readonly plan: ScenarioPlan
  readonly recorder: Recorder
  readonly control: RunnerControl
  readonly windows: TrafficWindow[] = []
  readonly marks: Record<string, number> = {}
  readonly facts: Record<string, number> = {}
  readonly #config: PhoneConfig
  readonly #open = new Set<{ close(): Promise<void> }>()

  constructor(config: PhoneConfig, control: RunnerControl, recorder: Recorder) {
    this.#config = config
    this.plan = config.plan
    this.control = control
    this.recorder = recorder
  }

  #token(user: string): string {
    const token = this.#config.tokens[user]
    if (token === undefined) throw new Error(`no token for ${user}`)
    return token
  }

  /** An SDK phone of `user`, connected and synced (from `cursor`); `options` for its client (e.g. a watched fetch). */
  async phone(user: string, cursor = 0, options: Partial<ClientOptions> = {}): Promise<SdkPhone> {
    const phone = await SdkPhone.connect(this.#config.url, user, this.#token(user), this.recorder, CONNECT_TIMEOUT_MS, cursor, options)
    this.#open.add(phone)
    return phone
  }

  /** Closes a phone now (it goes offline) and forgets it. */
  async offline(phone: SdkPhone): Promise<void> {
    this.#open.delete(phone)
    await phone.close()
  }

  /** A raw-protocol device of `user` (see RawDevice). */
  async raw(user: string): Promise<RawDevice> {
    const device = await RawDevice.connect(this.#config.url, user, PHONE_DEVICE, this.#token(user), CONNECT_TIMEOUT_MS)
    this.#open.add(device)
    return device
  }

  /**
   * Counts the link's bytes around `body`, from a quiet link to a quiet link,
   * so the window holds exactly the traffic its messages caused (with their
   * acks, receipts and TCP acks) and none of the set-up.
   */
  async window(phase: string, body: () => Promise<void>): Promise<void> {
    this.recorder.phase = phase
    const before = await this.control.traffic(true)
    const first = this.recorder.sent.length
    await body()
    const after = await this.control.traffic(true)
    this.windows.push({ phase, messages: this.recorder.sent.length - first, before, after })
  }

  /**
   * Launches `count` sends, `intervalMs` apart (all at once for 0); with
   * `until`, keeps going past `count` while it returns true.
   */
  async paced(send: SendBody, from: string, recipients: readonly string[], count: number, until?: () => Promise<boolean>): Promise<SentRecord[]> {
    const records: SentRecord[] = []
    for (let i = 0; i < count || (until !== undefined && (await until())); i++) {
      if (i > 0 && this.plan.intervalMs > 0) await sleep(this.plan.intervalMs)
      records.push(this.recorder.launch(send, from, recipients))
    }
    return records
  }

  /**
   * Waits until every record is stored and has reached every recipient, for
   * at most the plan's delivery timeout. A timeout is not an error: what never
   * arrived is reported as lost.
   */
  async delivered(records: readonly SentRecord[]): Promise<void> {
    const until = Date.now() + this.plan.deliveryTimeoutMs
    await this.recorder.settled(this.plan.deliveryTimeoutMs)
    while (this.recorder.missing(records) > 0 && Date.now() < until) await sleep(20)
  }

  /** Waits (bounded) until `sender` has heard the delivered receipt of its last message to `peer`. */
  async receipts(sender: SdkPhone, peer: string, records: readonly SentRecord[]): Promise<void> {
    const last = Math.max(0, ...records.map((r) => r.cseq ?? 0))
    const until = Date.now() + RECEIPT_WAIT_MS
    while (sender.deliveredUpTo(peer) < last && Date.now() < until) await sleep(20)
  }

  mark(name: string): number {
    const at = this.recorder.nowMs()
    this.marks[name] = at
    return at
  }

  report(): PhoneReport {
    return {
      t0Ns: this.recorder.t0Ns.toString(),
      sent: this.recorder.sent,
      deliveries: this.recorder.deliveries,
      windows: this.windows,
      marks: this.marks,
      facts: this.facts,
      errors: this.recorder.errors
    }
  }

  /** Ends every client still open; bounded, because a client on a dead link may never finish its DISCONNECT. */
  async closeAll(): Promise<void> {
    const open = [...this.#open]
    this.#open.clear()
    await withTimeout(Promise.allSettled(open.map((c) => c.close())), CLOSE_TIMEOUT_MS, 'close timed out').catch(() => undefined)
  }
}
