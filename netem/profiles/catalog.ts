import type { DirectionSpec, Profile, ProfileSource } from './schema.js'

/*
 * The emulated mobile links lowband is tested under. Rates, delays and loss
 * come from the cited presets unchanged; none of the sources give jitter or
 * reordering (ATC ships both as 0), so they stay 0 here and scenarios that
 * need them override a profile (see withOverrides in index.ts).
 */

const ATC_PROFILES = 'https://github.com/facebookarchive/augmented-traffic-control/blob/master/utils/profiles'

function atc(file: string, used: string): ProfileSource {
  return { name: 'Facebook Augmented Traffic Control, default profile', url: `${ATC_PROFILES}/${file}`, used }
}

/** Four seconds of the direction's rate, but never less than ten full-size packets. */
const QUEUE_SECONDS = 4
const QUEUE_MIN_BYTES = 10 * 1500

/**
 * Cellular bottlenecks buffer a lot: multi-second queueing delays are the norm
 * on 2G/3G (Jiang et al., "Tackling Bufferbloat in 3G/4G Networks", IMC 2012).
 * A buffer of ten packets at least lets a TCP initial window (RFC 6928, IW10)
 * in without loss even at 20 kbit/s.
 */
function queueFor(rateKbit: number): number {
  return Math.max(Math.round((rateKbit * 1000 * QUEUE_SECONDS) / 8), QUEUE_MIN_BYTES)
}

function direction(rateKbit: number, delayMs: number, lossPct: number): DirectionSpec {
  return { rateKbit, delayMs, jitterMs: 0, lossPct, reorderPct: 0, queueBytes: queueFor(rateKbit) }
}

const QUEUE_SOURCE: ProfileSource = {
  name: 'Jiang, Wang, Lee, Rhee: Tackling Bufferbloat in 3G/4G Networks (ACM IMC 2012)',
  used: 'bottleneck buffer sized to hold seconds of traffic, as measured on cellular networks'
}

const threeGAverage = { down: direction(780, 100, 0), up: direction(330, 100, 0) }

export const PROFILES: readonly Profile[] = [
  {
    id: '2g-rural',
    title: '2G, developing rural',
    summary: 'GPRS-class link far from a cell: 20/18 kbit/s, 650 ms each way, 2 % loss.',
    sources: [atc('2G-DevelopingRural.json', 'rate 20 down / 18 up kbit/s, delay 650 ms each way, loss 2 %'), QUEUE_SOURCE],
    down: direction(20, 650, 2),
    up: direction(18, 650, 2),
    outages: null
  },
  {
    id: '2g-urban',
    title: '2G, developing urban',
    summary: 'GPRS-class link in a city: 35/32 kbit/s, 650 ms each way, no loss.',
    sources: [atc('2G-DevelopingUrban.json', 'rate 35 down / 32 up kbit/s, delay 650 ms each way, loss 0'), QUEUE_SOURCE],
    down: direction(35, 650, 0),
    up: direction(32, 650, 0),
    outages: null
  },
  {
    id: 'edge-lossy',
    title: 'EDGE, lossy',
    summary: 'EDGE with poor signal: 240/200 kbit/s, 400 ms down / 440 ms up, 1 % loss.',
    sources: [atc('Edge-Lossy.json', 'rate 240 down / 200 up kbit/s, delay 400 down / 440 up ms, loss 1 %'), QUEUE_SOURCE],
    down: direction(240, 400, 1),
    up: direction(200, 440, 1),
    outages: null
  },
  {
    id: 'edge-good',
    title: 'EDGE, good',
    summary: 'EDGE with good signal: 250/200 kbit/s, 350 ms down / 370 ms up, no loss.',
    sources: [atc('Edge-Good.json', 'rate 250 down / 200 up kbit/s, delay 350 down / 370 up ms, loss 0'), QUEUE_SOURCE],
    down: direction(250, 350, 0),
    up: direction(200, 370, 0),
    outages: null
  },
  {
    id: '3g-average',
    title: '3G, average',
    summary: 'Typical UMTS: 780/330 kbit/s, 100 ms each way, no loss.',
    sources: [atc('3G-Average.json', 'rate 780 down / 330 up kbit/s, delay 100 ms each way, loss 0'), QUEUE_SOURCE],
    ...threeGAverage,
    outages: null
  },
  {
    id: '3g-good',
    title: '3G, good',
    summary: 'UMTS with good signal: 850/420 kbit/s, 90 ms down / 100 ms up, no loss.',
    sources: [atc('3G-Good.json', 'rate 850 down / 420 up kbit/s, delay 90 down / 100 up ms, loss 0'), QUEUE_SOURCE],
    down: direction(850, 90, 0),
    up: direction(420, 100, 0),
    outages: null
  },
  {
    id: 'slow-3g',
    title: 'Chrome DevTools "Slow 3G"',
    summary: 'The DevTools preset at packet level: 400/400 kbit/s and its 2000 ms RTT as 1000 ms each way.',
    sources: [
      {
        name: 'Chrome DevTools network throttling presets (Slow3GConditions)',
        url: 'https://github.com/ChromeDevTools/devtools-frontend/blob/main/front_end/core/sdk/NetworkManager.ts',
        used:
          'download = upload = 500 kbit/s × 0.8 = 400 kbit/s; latency 400 ms × 5 = 2000 ms, applied by Chrome once per ' +
          'request; we apply it as a 2000 ms packet RTT (1000 ms each way), the figure DESIGN.md fixes'
      },
      {
        name: 'Lighthouse network throttling notes',
        url: 'https://github.com/GoogleChrome/lighthouse/blob/main/docs/throttling.md',
        used: 'why DevTools inflates request-level latency (the ×5 stands in for the round trips of a packet-level 400 ms RTT)'
      },
      QUEUE_SOURCE
    ],
    down: direction(400, 1000, 0),
    up: direction(400, 1000, 0),
    outages: null
  },
  {
    id: 'flapping',
    title: '3G that keeps dropping',
    summary: '3G average, but the link goes down for 10–30 s about once a minute (up 30–50 s between outages).',
    sources: [
      atc('3G-Average.json', 'the link between outages: 780/330 kbit/s, 100 ms each way'),
      {
        name: 'lowband issue 3 (netem profiles)',
        used: 'outage schedule: down 10–30 s about every minute; up periods of 30–50 s make the mean cycle 60 s'
      },
      QUEUE_SOURCE
    ],
    ...threeGAverage,
    outages: { upS: { min: 30, max: 50 }, downS: { min: 10, max: 30 } }
  }
]
