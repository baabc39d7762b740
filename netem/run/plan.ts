import type { Profile } from '../profiles/index.js'
import type { ScenarioName, ScenarioPlan } from './types.js'

/*
 * How big each scenario is on a given profile. Counts scale with what the link
 * can carry, so a 20 kbit/s link gets a burst it drains in seconds rather than
 * minutes, and the whole matrix stays well under 20 minutes. The estimate below
 * is only for sizing; the report shows the bytes actually counted.
 */

/** Rough IP bytes one 1:1 message costs on the busier direction (PUBLISH, acks, receipt, TCP/IP headers). */
const SIZING_BYTES_PER_MESSAGE = 400
/** A typing signal or notice: 15–21 bytes of MQTT in a 52-byte TCP/IP header. */
const SIZING_BYTES_PER_TYPING = 73
/** A typical short chat text. */
const BODY_CHARS = 40
const GROUP_MEMBERS = 5
/** The media scenario's photo, bytes: a phone camera's shot after the app's compression. */
const PHOTO_BYTES = 100 * 1024
/** Photos per media run, sent one after the other, each once the last is downloaded. */
const PHOTOS = 3
const TYPISTS = 2

const clamp = (value: number, min: number, max: number): number => Math.min(max, Math.max(min, Math.round(value)))

/** Messages a second the slower direction carries. */
function messagesPerSecond(profile: Profile): number {
  const rateKbit = Math.min(profile.up.rateKbit, profile.down.rateKbit)
  return (rateKbit * 1000) / 8 / SIZING_BYTES_PER_MESSAGE
}

/** A generous wait for the last deliveries: link time for everything sent, several times over, plus round trips. */
function deliveryTimeout(profile: Profile, messages: number, copies: number): number {
  const rttMs = profile.up.delayMs + profile.down.delayMs
  const drainMs = ((messages * copies) / messagesPerSecond(profile)) * 1000
  return Math.round(30_000 + 10 * rttMs + 4 * drainMs)
}

export function planFor(profile: Profile, scenario: ScenarioName): ScenarioPlan {
  const capacity = messagesPerSecond(profile)
  const paced = Math.max(250, Math.round(1000 / (capacity * 0.25)))
  switch (scenario) {
    case 'burst': {
      const messages = clamp(capacity * 3, 12, 50)
      return { scenario, messages, intervalMs: 0, bodyChars: BODY_CHARS, deliveryTimeoutMs: deliveryTimeout(profile, messages, 1) }
    }
    case 'group': {
      const recipients = GROUP_MEMBERS - 1
      const messages = clamp((capacity * 3) / recipients, 8, 30)
      return {
        scenario,
        members: GROUP_MEMBERS,
        messages,
        intervalMs: 0,
        bodyChars: BODY_CHARS,
        deliveryTimeoutMs: deliveryTimeout(profile, messages, recipients)
      }
    }
    case 'resume': {
      const messages = 2 * clamp(capacity * 1.5, 6, 25)
      return { scenario, messages, intervalMs: 0, bodyChars: BODY_CHARS, deliveryTimeoutMs: deliveryTimeout(profile, messages, 2) }
    }
    case 'flap': {
      if (profile.outages) {
        const intervalMs = 500
        const outage = { kind: 'schedule', tailMs: 8_000, maxMs: 120_000 } as const
        const maxOutageMs = profile.outages.downS.max * 1000
        // TCP's retransmission backoff can leave a connection idle for as long again after the link returns.
        return { scenario, messages: 1, intervalMs, bodyChars: BODY_CHARS, outage, deliveryTimeoutMs: deliveryTimeout(profile, 20, 1) + 2 * maxOutageMs }
      }
      const outage = { kind: 'forced', atMs: 3_000, downMs: 5_000, tailMs: 5_000 } as const
      const messages = Math.ceil((outage.atMs + outage.downMs + outage.tailMs) / paced)
      return { scenario, messages: 1, intervalMs: paced, bodyChars: BODY_CHARS, outage, deliveryTimeoutMs: deliveryTimeout(profile, messages, 1) + 2 * outage.downMs }
    }
    case 'media': {
      // Per photo: up and down at the link's rates, many times over, plus round trips.
      const rttMs = profile.up.delayMs + profile.down.delayMs
      const blobMs = (PHOTO_BYTES * 8) / profile.up.rateKbit + (PHOTO_BYTES * 8) / profile.down.rateKbit
      return { scenario, photoBytes: PHOTO_BYTES, messages: PHOTOS, intervalMs: 0, bodyChars: BODY_CHARS, deliveryTimeoutMs: Math.round(30_000 + 10 * rttMs + 4 * blobMs) }
    }
    case 'typing': {
      const messages = clamp(capacity * 1.5, 6, 15)
      const rateBytes = (Math.min(profile.up.rateKbit, profile.down.rateKbit) * 1000) / 8
      // A quarter of the slower direction, at most 20 a second (the broker allows 50 per connection).
      const signalsPerSecond = clamp((0.25 * rateBytes) / SIZING_BYTES_PER_TYPING, 2, 20)
      return {
        scenario,
        typists: TYPISTS,
        signalsPerSecond,
        messages,
        intervalMs: paced,
        bodyChars: BODY_CHARS,
        deliveryTimeoutMs: deliveryTimeout(profile, messages, 2)
      }
    }
  }
}

/** The most a whole run (set-up, every phase, teardown) may take before it counts as hung. */
export function runBudgetMs(plan: ScenarioPlan): number {
  const phases = plan.scenario === 'typing' || plan.scenario === 'resume' ? 2 : plan.scenario === 'media' ? plan.messages : 1
  let sending = plan.messages * plan.intervalMs * phases
  if (plan.scenario === 'flap') {
    sending = plan.outage.kind === 'forced' ? plan.outage.atMs + plan.outage.downMs + plan.outage.tailMs : plan.outage.maxMs
  }
  // Connecting phones (90 s at worst), settling the link around each window, and the phases' own deadlines.
  return 120_000 + sending + phases * (plan.deliveryTimeoutMs + 40_000)
}
