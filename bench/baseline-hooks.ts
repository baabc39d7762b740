import type { Aedes, AedesOptions, Client, PublishPacket, PubrelPacket } from 'aedes'
import { writeTo } from '../hooks/context.js'
import type { Committer } from '../storage/embedded/committer.js'

/** What a baseline adds to plain Aedes: options before it is created, listeners after. */
export interface BaselineHooks {
  options: AedesOptions
  attach?: (broker: Aedes) => void
}

/** The topic the protocol floor sends a sender's stored-acks and receipts on (bench/chat-traffic.ts). */
export const senderTopicOf = (sendTopic: string): string => `${sendTopic}/s`

/** Same sizes as lowband's StoredAck and delivered Receipt payloads for the bench's message (docs/PROTOCOL.md). */
const STORED_ACK = Buffer.alloc(15, 1)
const RECEIPT = Buffer.alloc(18, 2)

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
 * the PUBACK, a QoS 0 stored-ack written with it (as lowband's `writeTo` does), the sender's packet
 * passed through to the recipient at QoS 1, and on the recipient's PUBACK a second synced put (the
 * delivered mark) and a QoS 0 receipt routed to the sender. No ids, sequences, inbox slots, dedup,
 * CBOR or validation.
 */
export function protocolFloorHooks (committer: Committer): BaselineHooks {
  let stored = 0
  return {
    options: {
      authorizePublish: (client, packet, done) => {
        if (packet.qos === 0 || client === null) return done(null)
        committer.write([{ type: 'put', key: keyOf('m', ++stored), value: packet.payload as Buffer }]).then(() => {
          writeTo(client, senderTopicOf(packet.topic), STORED_ACK)
          done(null)
        }, (error: unknown) => done(error as Error))
      }
    },
    attach: (broker) => {
      // Aedes reports a persistent session's PUBACK with the packet it acknowledges (the bench's clients are persistent).
      broker.on('ack', (packet: PublishPacket | PubrelPacket | undefined, _client: Client) => {
        if (packet?.cmd !== 'publish' || packet.qos !== 1) return
        committer.write([{ type: 'put', key: keyOf('v', ++stored), value: RECEIPT }]).then(() => {
          broker.publish({ cmd: 'publish', topic: senderTopicOf(packet.topic), payload: RECEIPT, qos: 0, retain: false, dup: false }, () => {})
        }, () => {})
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
