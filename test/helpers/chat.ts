import type { MqttClient } from 'mqtt'
import { SendRequest } from '../../protocol/envelopes.js'

let counter = 0

/** Publishes a send request as a raw device would; resolves on PUBACK. */
export async function sendRaw (client: MqttClient, to: string, body: string | Uint8Array, clientMsgId: Uint8Array | string | number = `m${++counter}`): Promise<void> {
  await client.publishAsync('c/s', Buffer.from(SendRequest.encode({ clientMsgId, to, body })), { qos: 1 })
}
