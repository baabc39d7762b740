import { measureJsonBytes, type JsonBytes } from './bytes-json.js'
import { measureLowbandBytes, TEXT, type Exchange, type LowbandBytes } from './bytes-lowband.js'
import { measureMediaBytes, type MediaBytes } from './bytes-media.js'
import { leastEncodings, mqttFloor, type LeastEncoding, type MqttFloor } from './mqtt-floor.js'

/** The bytes goals (issue 18): a message end to end against the seed's JSON exchange, the core packets against the MQTT floor. */
export const BYTES_GOALS = { messageVsJson: 0.35, coreVsFloor: 1.4 } as const

export interface BytesReport {
  textBytes: number
  lowband: LowbandBytes
  /** The four lowband packets that do the floor's job: send PUBLISH + PUBACK, delivery PUBLISH + PUBACK. */
  lowbandCore: number
  /** Per client message id length: the four core packets and the whole message (absent from older saved reports). */
  clientIds?: ClientIdBytes[]
  /** Bytes per message of a burst, coalesced delivered receipts included (absent from older saved reports). */
  burstPerMessage?: number
  json: JsonBytes
  /** A 100 KB photo's media message and requests (absent from older saved reports). */
  media?: MediaBytes
  /** Why the media figure is missing (the local S3 server could not run). */
  mediaSkipped?: string
  floor: MqttFloor
  /** What the floor goal would take: the promised fields at their most compact (computed; absent from older saved reports). */
  leastEncodings?: LeastEncoding[]
  /** Whether every counted byte belongs to a parsed packet or frame (the labels account for the counts). */
  countsMatchPackets: boolean
  ratios: {
    /** lowband message end to end (with delivered receipt) ÷ seed JSON request + response + delivery. Goal ≤ 0.35. */
    messageVsJson: number
    /** The same, like for like: both with their "delivered" status traffic. */
    messageVsJsonWithStatus: number
    /** A message of a burst, its share of the coalesced receipts included, ÷ the seed JSON exchange (absent from older saved reports). */
    burstVsJson?: number
    /** lowband's four core packets ÷ the MQTT floor's four. Goal ≤ 1.4. */
    coreVsFloor: number
    /** lowband message end to end (with stored-ack and delivered receipt) ÷ the floor. */
    messageVsFloor: number
  }
}

export interface ClientIdBytes {
  /** Random bytes in the client message id. */
  bytes: number
  core: number
  message: number
  coreVsFloor: number
  messageVsJson: number
}

const ratio = (a: number, b: number): number => Math.round(a / b * 100) / 100

/** The bytes of the packets that do the MQTT floor's job in a lowband message exchange. */
function coreBytes (exchange: Exchange): number {
  return exchange.packets.filter((p) => (p.device === 'alice' && p.direction === 'up' && p.what.startsWith('PUBLISH s/bob ')) ||
    (p.device === 'alice' && p.direction === 'down' && p.what === 'PUBACK') ||
    (p.device === 'bob' && p.direction === 'down' && p.what.startsWith('PUBLISH u/bob ')) ||
    (p.device === 'bob' && p.direction === 'up' && p.what === 'PUBACK')).reduce((sum, p) => sum + p.bytes, 0)
}

export async function measureBytes (): Promise<BytesReport> {
  const lowband = await measureLowbandBytes()
  const json = await measureJsonBytes()
  const media = await measureMediaBytes().catch((error: unknown) => ({ skipped: error instanceof Error ? error.message : String(error) }))
  const floor = mqttFloor(Buffer.byteLength(TEXT))
  const lowbandCore = coreBytes(lowband.message)
  const burst = lowband.burst!
  const burstPerMessage = Math.round(burst.exchange.total / burst.messages)
  const exchanges: Exchange[] = [lowband.message, ...lowband.byClientIdBytes!.map((c) => c.message), burst.exchange, lowband.read, lowband.typing, json.message, json.deliveredStatus,
    ...('skipped' in media ? [] : [media.upload, media.message, media.download])]
  return {
    textBytes: Buffer.byteLength(TEXT),
    lowband,
    lowbandCore,
    clientIds: lowband.byClientIdBytes!.map(({ bytes, message }) => ({
      bytes, core: coreBytes(message), message: message.total, coreVsFloor: ratio(coreBytes(message), floor.total), messageVsJson: ratio(message.total, json.message.total)
    })),
    burstPerMessage,
    json,
    ...('skipped' in media ? { mediaSkipped: media.skipped } : { media }),
    floor,
    leastEncodings: leastEncodings(Buffer.byteLength(TEXT)),
    countsMatchPackets: exchanges.every((e) => e.total === e.packets.reduce((sum, p) => sum + p.bytes, 0)),
    ratios: {
      messageVsJson: ratio(lowband.message.total, json.message.total),
      messageVsJsonWithStatus: ratio(lowband.message.total, json.message.total + json.deliveredStatus.total),
      burstVsJson: ratio(burstPerMessage, json.message.total),
      coreVsFloor: ratio(lowbandCore, floor.total),
      messageVsFloor: ratio(lowband.message.total, floor.total)
    }
  }
}
