import { build, decodeFromCompressedBase64, encodeIntoCompressedBase64, type Histogram } from 'hdr-histogram-js'

/** Latencies are recorded in microseconds, 1 µs to 60 s, to 3 significant digits. */
export function latencyHistogram (): Histogram {
  return build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: 3 })
}

/** Histograms cross process boundaries in HdrHistogram's own compressed encoding, so they merge exactly. */
export function encodeHistogram (histogram: Histogram): string {
  return encodeIntoCompressedBase64(histogram)
}

export function mergeHistograms (encoded: readonly string[]): Histogram {
  const merged = latencyHistogram()
  for (const one of encoded) {
    const histogram = decodeFromCompressedBase64(one)
    merged.add(histogram)
    histogram.destroy()
  }
  return merged
}

export interface LatencySummary {
  count: number
  p50Ms: number
  p99Ms: number
  p999Ms: number
  maxMs: number
}

export function summarize (histogram: Histogram): LatencySummary {
  const ms = (percentile: number): number => Math.round(histogram.getValueAtPercentile(percentile) / 10) / 100
  return { count: histogram.totalCount, p50Ms: ms(50), p99Ms: ms(99), p999Ms: ms(99.9), maxMs: ms(100) }
}
