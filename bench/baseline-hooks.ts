import type { Aedes, AedesOptions, Client, PublishPacket, PubrelPacket } from 'aedes'
import { writeTo } from '../hooks/context.js'
import { DEFAULT_RECEIPT_WINDOW_MS, ReceiptWindows } from '../hooks/receipt-windows.js'
import { Receipt, RECEIPT, StoredAck } from '../protocol/envelopes.js'
import type { Committer } from '../storage/embedded/committer.js'

/** What a baseline adds to plain Aedes: options before it is created, listeners after. */
export interface BaselineHooks {
  options: AedesOptions
  attach?: (broker: Aedes) => void
}

/** The topic the protocol floor sends a sender's stored-acks and receipts on (bench/chat-traffic.ts). */
export const senderTopicOf = (sendTopic: string): string => `${sendTopic}/s`

/**
 * lowband's StoredAck and delivered Receipt payloads for a message of the throughput section,
 * encoded by protocol/ so the floor follows the protocol: the bench's client message ids are
 * message numbers (hundreds of thousands into a run), a pair's sequences reach thousands, and
 * recipients are named `r<i>`.
 */
export const FLOOR_PAYLOADS = {
  storedAck: Buffer.from(StoredAck.encode({ clientMsgId: 100_000, seq: 1_000, cseq: 1_000 })),
  receipt: Buffer.from(Receipt.encode({ seq: 1_000, peer: 'r100', status: RECEIPT.delivered, cseq: 1_000, ts: Math.floor(Date.now() / 1000) }))
}

const keyOf = (prefix: string, n: number): string => `${prefix}!${String(n).padStart(15, '0')}`

/**
 * `aedes-durable`: the least a broker must do to promise "stored" with its PUBACK — each QoS 1
 * payload put into LevelDB through lowband's own group committer before Aedes acknowledges it.
 */
export function durableHooks (committer: Committer): BaselineHooks {
  let stored = 0
  return {
    options: {
      authorizePublish: (_client, packet, done) => {
        if (packet.qos === 0) return done(null)
        committer.write([{ type: 'put', key: keyOf('m', ++stored), value: packet.payload as Buffer }])
          .then(() => done(null), (error: unknown) => done(error as Error))
      }
    }
  }
}

/**
 * `aedes-protocol`: lowband's wire and disk round trips for a 1:1 message and nothing else — the
 * floor under any implementation of its protocol as Aedes hooks. Per message: one synced put before
 * the PUBACK, a QoS 0 stored-ack written with it (as lowband's `writeTo` does), and the sender's
 * packet passed through to the recipient at QoS 1. The recipient's PUBACKs are coalesced like
 * lowband's delivered receipts, by the same ReceiptWindows and window per conversation (a pair's
 * topic): once per window a synced put (the delivered watermark) and a QoS 0 receipt routed to
 * the sender. No ids, sequences, inbox slots, dedup, delivery positions, CBOR or validation.
 */
export function protocolFloorHooks (committer: Committer): BaselineHooks {
  let stored = 0
  return {
    options: {
      authorizePublish: (client, packet, done) => {
        if (packet.qos === 0 || client === null) return done(null)
        committer.write([{ type: 'put', key: keyOf('m', ++stored), value: packet.payload as Buffer }]).then(() => {
          writeTo(client, senderTopicOf(packet.topic), FLOOR_PAYLOADS.storedAck)
          done(null)
        }, (error: unknown) => done(error as Error))
      }
    },
    attach: (broker) => {
      const receipts = new ReceiptWindows(DEFAULT_RECEIPT_WINDOW_MS, async (topic) => {
        try {
          await committer.write([{ type: 'put', key: keyOf('v', ++stored), value: FLOOR_PAYLOADS.receipt }])
          broker.publish({ cmd: 'publish', topic: senderTopicOf(topic), payload: FLOOR_PAYLOADS.receipt, qos: 0, retain: false, dup: false }, () => {})
        } catch { /* a failed put sends no receipt, as in lowband */ }
      })
      // Aedes reports a persistent session's PUBACK with the packet it acknowledges (the bench's clients are persistent).
      broker.on('ack', (packet: PublishPacket | PubrelPacket | undefined, _client: Client) => {
        if (packet?.cmd === 'publish' && packet.qos === 1) receipts.moved(packet.topic)
      })
    }
  }
}

/** The stored baselines by name (`--with`): plain Aedes with a LevelDB store, throughput only. */
export const STORED_BASELINES = {
  'aedes-durable': durableHooks,
  'aedes-protocol': protocolFloorHooks
} as const satisfies Record<string, (committer: Committer) => BaselineHooks>
export type StoredBaseline = keyof typeof STORED_BASELINES
export const isStoredBaseline = (name: string): name is StoredBaseline => Object.hasOwn(STORED_BASELINES, name)
