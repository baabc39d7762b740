import { getProfile } from '../profiles/index.js'
import type { RunRecord } from '../run/matrix.js'
import { mediaFloors } from '../run/media-floor.js'
import { percentile } from '../run/metrics.js'
import { mediaMark } from '../run/types.js'

const ms = (v: number | undefined): string => (v === undefined || !Number.isFinite(v) ? '–' : String(Math.round(v)))
const ratio = (a: number | undefined, b: number | undefined): string => (a === undefined || b === undefined || !Number.isFinite(a) || !(b > 0) ? '–' : (a / b).toFixed(2))

/** Upload time of each photo: its send started → its blob stored (the PUT's answer). */
function uploadTimes(record: RunRecord): number[] {
  const marks = record.marks ?? {}
  const times: number[] = []
  for (let i = 0; marks[mediaMark.upload(i)] !== undefined; i++) {
    const took = (marks[mediaMark.uploaded(i)] ?? Number.NaN) - (marks[mediaMark.upload(i)] ?? Number.NaN)
    if (Number.isFinite(took)) times.push(took)
  }
  return times.sort((a, b) => a - b)
}

/**
 * The media scenario: time to upload a photo and time until the recipient holds it, each against
 * its physical floor (the blob's bytes at the link's rate, plus the round trips nothing can save;
 * see media-floor.ts). Also what `lowband netem run --scenario media` prints.
 */
export function mediaTable(records: readonly RunRecord[]): string[] {
  const rows = records.filter((r) => r.scenario === 'media' && r.metrics && r.plan.scenario === 'media')
  if (rows.length === 0) return []
  const lines = [
    '| profile | photo | photos | upload p50 / max ms | upload floor ms | upload ÷ floor | recipient has it p50 / max ms | floor ms | ÷ floor |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|'
  ]
  for (const r of rows) {
    const photoBytes = r.plan.scenario === 'media' ? r.plan.photoBytes : 0
    let floors: { uploadMs?: number; recipientMs?: number } = {}
    try {
      floors = mediaFloors(getProfile(r.profile), photoBytes)
    } catch {
      // A profile from --profile-file: no catalog entry to compute its floor from.
    }
    const uploads = uploadTimes(r)
    const upload = uploads.length === 0 ? undefined : percentile(uploads, 50)
    const has = r.metrics?.latency
    lines.push(
      `| \`${r.profile}\` | ${Math.round(photoBytes / 1024)} KB | ${uploads.length} | ${ms(upload)} / ${ms(uploads.at(-1))} | ${ms(floors.uploadMs)} | ${ratio(upload, floors.uploadMs)} | ${ms(has?.p50Ms)} / ${ms(has?.maxMs)} | ${ms(floors.recipientMs)} | ${ratio(has?.p50Ms, floors.recipientMs)} |`
    )
  }
  return lines
}
