import type { Profile } from '../profiles/index.js'

/** kbit/s are bits per ms: bytes × 8 / kbit/s is milliseconds. */
function serialiseMs(bytes: number, rateKbit: number): number {
  return (bytes * 8) / rateKbit
}

export interface MediaFloors {
  /** The blob up: the slot request, then the PUT (request to response), plus its bytes at the up rate. */
  uploadMs: number
  /** Until the recipient holds the blob: the upload, the media message (up one way, down one way), the download request and the GET, plus its bytes at the down rate. */
  recipientMs: number
}

/**
 * The physical floor of sending a blob of `bytes` across the link: its bytes ÷ rate and the round
 * trips nothing can save. A TCP handshake to the storage is not counted (a phone may hold a
 * connection open), so a fresh connection's one more round trip is part of what a run spends
 * above the floor.
 */
export function mediaFloors(profile: Profile, bytes: number): MediaFloors {
  const rttMs = profile.up.delayMs + profile.down.delayMs
  const uploadMs = 2 * rttMs + serialiseMs(bytes, profile.up.rateKbit)
  return { uploadMs, recipientMs: uploadMs + rttMs + 2 * rttMs + serialiseMs(bytes, profile.down.rateKbit) }
}
