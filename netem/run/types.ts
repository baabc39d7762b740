/*
 * What the scenario runner (host side) and the phone process (inside the
 * client namespace) say to each other, and what a run produces. The phone
 * process imports this file too, so it holds no runner code.
 */

export const SCENARIOS = ['burst', 'group', 'resume', 'flap', 'typing', 'media'] as const
export type ScenarioName = (typeof SCENARIOS)[number]

export function isScenarioName(name: string): name is ScenarioName {
  return (SCENARIOS as readonly string[]).includes(name)
}

interface PlanBase {
  /** Messages to send (for `typing`, per phase; for `resume`, in all, half of them while offline). */
  messages: number
  /** Pause between two sends, ms; 0 sends them all at once. */
  intervalMs: number
  /** Characters of each message body: a tag the recipient reads the message index from, padded. */
  bodyChars: number
  /** How long the phones wait for the last deliveries after the last send, ms. */
  deliveryTimeoutMs: number
}

/** How `flap` takes the link away: the profile's own schedule, or one outage forced by the scenario. */
export type FlapOutage =
  | {
      kind: 'schedule'
      /** Keep sending this long after the first scheduled outage ends, ms. */
      tailMs: number
      /** Give up waiting for a scheduled outage after this long, ms. */
      maxMs: number
    }
  | {
      kind: 'forced'
      /** Link goes down this long after sending starts, ms. */
      atMs: number
      downMs: number
      tailMs: number
    }

export type ScenarioPlan =
  | (PlanBase & { scenario: 'burst' })
  | (PlanBase & { scenario: 'group'; members: number })
  | (PlanBase & { scenario: 'resume' })
  | (PlanBase & { scenario: 'flap'; outage: FlapOutage })
  | (PlanBase & { scenario: 'typing'; typists: number; signalsPerSecond: number })
  /** `messages` photos of `photoBytes` each, one after the other; `deliveryTimeoutMs` is per photo. */
  | (PlanBase & { scenario: 'media'; photoBytes: number })

/** Marks of the media scenario's photo `i`: its send started, its blob fully uploaded, its message at the recipient. */
export const mediaMark = {
  upload: (i: number): string => `upload.${i}`,
  uploaded: (i: number): string => `uploaded.${i}`,
  received: (i: number): string => `received.${i}`
}

/** Users a scenario needs, p1 … pN; p1 is always the (first) sender and p2 the (first) recipient. */
export function phonesFor(plan: ScenarioPlan): string[] {
  const count = plan.scenario === 'group' ? plan.members : plan.scenario === 'typing' ? 2 + plan.typists : 2
  return Array.from({ length: count }, (_, i) => `p${i + 1}`)
}

/** The device id every simulated phone uses (tokens are bound to it). */
export const PHONE_DEVICE = 'phone'

export interface PhoneConfig {
  /** mqtt://server:port of the broker across the link. */
  url: string
  plan: ScenarioPlan
  /** A device token per user of phonesFor(plan). */
  tokens: Record<string, string>
}

/** Byte and packet totals of the link, per direction ("up" = phone → server). */
export interface Traffic {
  upBytes: number
  downBytes: number
  upPackets: number
  downPackets: number
}

/** A change of link state; atNs is CLOCK_MONOTONIC (process.hrtime.bigint()), as a decimal string. */
export interface LinkEventWire {
  state: 'up' | 'down'
  atNs: string
  cause: 'schedule' | 'manual'
}

export type RunnerToPhone =
  | { type: 'start'; config: PhoneConfig }
  | { type: 'reply'; id: number; traffic?: Traffic; events?: LinkEventWire[]; error?: string }

export type ControlOp = { op: 'traffic'; settle: boolean } | { op: 'setLink'; up: boolean } | { op: 'events' }

export type PhoneToRunner =
  | ({ type: 'request'; id: number } & ControlOp)
  | { type: 'progress'; delivered: number; expected: number; phase: string }
  | { type: 'result'; report: PhoneReport }
  | { type: 'failed'; error: string }

/** One message a phone sent. Times are ms since the scenario's t0. */
export interface SentRecord {
  index: number
  /** The part of the scenario it belongs to (e.g. "live"/"offline" for resume, "quiet"/"storm" for typing). */
  phase: string
  from: string
  /** Users expected to receive it. */
  recipients: string[]
  sentMs: number
  /** When the send was confirmed stored (✓: stored-ack and PUBACK; send() resolved); absent if it never was. */
  storedMs?: number
  /** Earliest time it could reach its recipients (a recipient that was offline: when it reconnected). */
  availableMs?: number
  id?: string
  cseq?: number
  /** Why the send failed (rejected or never confirmed). */
  error?: string
}

/** One message handed to a recipient's app by onMessage. */
export interface DeliveryRecord {
  index: number
  to: string
  atMs: number
  id: string
  cseq: number
  /** The same message id was handed to this recipient before. */
  duplicate: boolean
  /** Its cseq is below one already handed over from the same sender in the same conversation. */
  outOfOrder: boolean
}

/** Link traffic over one measured part of a scenario. */
export interface TrafficWindow {
  phase: string
  /** Messages sent in the window (the divisor of bytes per message). */
  messages: number
  before: Traffic
  after: Traffic
}

/** What the phone process reports when its scenario is over. */
export interface PhoneReport {
  /** The scenario's time origin, CLOCK_MONOTONIC ns as a decimal string. */
  t0Ns: string
  sent: SentRecord[]
  deliveries: DeliveryRecord[]
  windows: TrafficWindow[]
  /** Named instants, ms since t0 (e.g. reconnect). */
  marks: Record<string, number>
  /** Scenario facts worth printing (e.g. typing signals sent). */
  facts: Record<string, number>
  /** Errors the SDK reported that were not tied to a send. */
  errors: string[]
}
