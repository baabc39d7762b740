import { measureJsonBytes, type JsonBytes } from './bytes-json.js'
import { measureLowbandBytes, TEXT, type Exchange, type LowbandBytes } from './bytes-lowband.js'
import { measureMediaBytes, type MediaBytes } from './bytes-media.js'
import { leastEncodings, mqttFloor, type LeastEncoding, type MqttFloor } from './mqtt-floor.js'

export interface BytesReport {
  textBytes: number
  lowband: LowbandBytes
  /** The four lowband packets that do the floor's job: send PUBLISH + PUBACK, delivery PUBLISH + PUBACK. */
  lowbandCore: number
  json: JsonBytes
  floor: MqttFloor
  /** What the floor goal would take: the promised fields at their most compact (computed; absent from older saved reports). */
  leastEncodings?: LeastEncoding[]
  /** A 100 KB photo's media message and requests (absent from older saved reports). */
  media?: MediaBytes
  /** Why the media figure is missing (the local S3 server could not run). */
  mediaSkipped?: string
  /** Whether every counted byte belongs to a parsed packet or frame (the labels account for the counts). */
  countsMatchPackets: boolean
  ratios: {
    /** lowband message end to end (with delivered receipt) ÷ seed JSON request + response + delivery. Goal ≤ 0.4. */
    messageVsJson: number
    /** The same, like for like: both with their "delivered" status traffic. */
    messageVsJsonWithStatus: number
    /** lowband's four core packets ÷ the MQTT floor's four. Goal ≤ 1.3. */
    coreVsFloor: number
    /** lowband message end to end (with stored-ack and delivered receipt) ÷ the floor. */
    messageVsFloor: number
  }
}

export async function measureBytes (): Promise<BytesReport> {
  const lowband = await measureLowbandBytes()
  const json = await measureJsonBytes()
  const media = await measureMediaBytes().catch((error: unknown) => ({ skipped: error instanceof Error ? error.message : String(error) }))
  const floor = mqttFloor(Buffer.byteLength(TEXT))
  const packets = lowband.message.packets
  const core = packets.filter((p) => (p.device === 'alice' && p.direction === 'up' && p.what.startsWith('PUBLISH c/s')) ||
    (p.device === 'alice' && p.direction === 'down' && p.what === 'PUBACK') ||
    (p.device === 'bob' && p.direction === 'down' && p.what.startsWith('PUBLISH u/bob/m')) ||
    (p.device === 'bob' && p.direction === 'up' && p.what === 'PUBACK'))
  const lowbandCore = core.reduce((sum, p) => sum + p.bytes, 0)
  const exchanges: Exchange[] = [lowband.message, lowband.read, lowband.typing, json.message, json.deliveredStatus,
    ...('skipped' in media ? [] : [media.upload, media.message, media.download])]
  const ratio = (a: number, b: number): number => Math.round(a / b * 100) / 100
  return {
    textBytes: Buffer.byteLength(TEXT),
    lowband,
    lowbandCore,
    json,
    floor,
    leastEncodings: leastEncodings(Buffer.byteLength(TEXT)),
    ...('skipped' in media ? { mediaSkipped: media.skipped } : { media }),
    countsMatchPackets: exchanges.every((e) => e.total === e.packets.reduce((sum, p) => sum + p.bytes, 0)),
    ratios: {
      messageVsJson: ratio(lowband.message.total, json.message.total),
      messageVsJsonWithStatus: ratio(lowband.message.total, json.message.total + json.deliveredStatus.total),
      coreVsFloor: ratio(lowbandCore, floor.total),
      messageVsFloor: ratio(lowband.message.total, floor.total)
    }
  }
}
