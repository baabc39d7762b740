import type { DirectionSpec, Profile } from '../profiles/index.js'

/*
 * How big each calibration probe is, derived from the profile so that a 20
 * kbit/s link and an 850 kbit/s one are both measured precisely and quickly
 * (a check stays around 30 s even on 2G).
 */

export type Direction = 'down' | 'up'
export const DIRECTIONS: readonly Direction[] = ['down', 'up']

/** IPv4 header (no options) + UDP header: what lbprobe adds to a payload. */
export const IP_UDP_HEADER = 28
/** lbprobe's smallest datagram: a 4-byte sequence number. */
const SMALLEST_IP_PACKET = IP_UDP_HEADER + 4
/** A ping carries sequence, padding and send time: 16 bytes. */
const PING_IP_PACKET = IP_UDP_HEADER + 16

export interface RttPlan {
  count: number
  intervalUs: number
  payload: number
  waitMs: number
  /** down + up delay from the profile. */
  profileMs: number
  /** What the probe should see: the delays plus serialising the probe each way. */
  expectedMs: number
}

/** One stream from one end to the other, received by a sink. */
export interface StreamPlan {
  ipSize: number
  count: number
  sendBps: number
  /** Sink gives up if nothing arrives within this. */
  firstMs: number
  /** Sink stops after this much silence. */
  idleMs: number
}

export interface CalibrationPlan {
  rtt: RttPlan
  /** Oversends the rate so the bottleneck stays busy, then measures the arrival rate. */
  rate: Record<Direction, StreamPlan>
  /** Paces many small packets below the rate so only random loss can drop them. */
  loss: Record<Direction, StreamPlan>
}

export function serialisationMs(ipBytes: number, rateKbit: number): number {
  return (ipBytes * 8) / rateKbit
}

/** Keep the bottleneck busy: 25 % more than it can carry, for RATE_SECONDS. */
const RATE_OVERSEND = 1.25
const RATE_SECONDS = 4
/** Loss probes use 90 % of the rate; paced evenly they never queue. */
const LOSS_LOAD = 0.9
const LOSS_SECONDS = 16
const LOSS_MIN_PACKETS = 1000
const LOSS_MAX_PACKETS = 5000

function firstArrivalMs(spec: DirectionSpec): number {
  return spec.delayMs + spec.jitterMs + 3000
}

function ratePlan(spec: DirectionSpec): StreamPlan {
  const bytesPerSecond = (spec.rateKbit * 1000) / 8
  // About 12 packets a second: big enough to be exact, small enough to not overflow 2G buffers.
  const ipSize = Math.min(1200, Math.max(200, Math.round(bytesPerSecond / 12)))
  const sendBps = spec.rateKbit * 1000 * RATE_OVERSEND
  const count = Math.ceil((sendBps * RATE_SECONDS) / 8 / ipSize)
  const idleMs = Math.max(1000, 4 * serialisationMs(ipSize, spec.rateKbit) + 2 * spec.jitterMs)
  return { ipSize, count, sendBps, firstMs: firstArrivalMs(spec), idleMs: Math.ceil(idleMs) }
}

function lossPlan(spec: DirectionSpec): StreamPlan {
  const sendBps = spec.rateKbit * 1000 * LOSS_LOAD
  const perSecond = sendBps / 8 / SMALLEST_IP_PACKET
  const count = Math.min(LOSS_MAX_PACKETS, Math.max(LOSS_MIN_PACKETS, Math.round(perSecond * LOSS_SECONDS)))
  return { ipSize: SMALLEST_IP_PACKET, count, sendBps, firstMs: firstArrivalMs(spec), idleMs: 1500 + 2 * spec.jitterMs }
}

function rttPlan(profile: Profile): RttPlan {
  const slowest = Math.min(profile.down.rateKbit, profile.up.rateKbit)
  const intervalMs = Math.max(50, 4 * serialisationMs(PING_IP_PACKET, slowest))
  const profileMs = profile.down.delayMs + profile.up.delayMs
  const expectedMs =
    profileMs + serialisationMs(PING_IP_PACKET, profile.down.rateKbit) + serialisationMs(PING_IP_PACKET, profile.up.rateKbit)
  return {
    count: 20,
    intervalUs: Math.round(intervalMs * 1000),
    payload: PING_IP_PACKET - IP_UDP_HEADER,
    waitMs: Math.ceil(2 * expectedMs + 2 * (profile.down.jitterMs + profile.up.jitterMs) + 1000),
    profileMs,
    expectedMs
  }
}

export function planCalibration(profile: Profile): CalibrationPlan {
  return {
    rtt: rttPlan(profile),
    rate: { down: ratePlan(profile.down), up: ratePlan(profile.up) },
    loss: { down: lossPlan(profile.down), up: lossPlan(profile.up) }
  }
}

/** Outages are checked on a schedule shortened by this factor (10–30 s becomes 1–3 s). */
export const OUTAGE_SCALE = 0.1
/** Packets per second of the streams that observe outages. */
export const OUTAGE_PROBE_PPS = 50
export const OUTAGE_PROBE_IP_SIZE = SMALLEST_IP_PACKET
