import type { MqttClient } from 'mqtt'
import { encodeSend } from '../../protocol/envelopes.js'
import { Request, Response } from '../../protocol/requests.js'

let counter = 0

/** Publishes a 1:1 send (a DirectSend on `s/<to>`) as a raw device would; resolves on PUBACK. */
export async function sendRaw (client: MqttClient, to: string, body: string | Uint8Array, clientMsgId: Uint8Array | string | number = `m${++counter}`): Promise<void> {
  const { topic, payload } = encodeSend({ clientMsgId, to, body })
  await client.publishAsync(topic, Buffer.from(payload), { qos: 1 })
}

let rid = 0

/** A request on c/q; resolves with the response of the same rid from u/<user>/q. */
export async function request (client: MqttClient, userId: string, op: number, args?: Map<number, unknown>): Promise<Response> {
  const id = ++rid
  const answer = new Promise<Response>((resolve) => {
    const onMessage = (topic: string, payload: Buffer): void => {
      if (topic !== `u/${userId}/q`) return
      const response = Response.decode(payload)
      if (response.rid !== id) return
      client.off('message', onMessage)
      resolve(response)
    }
    client.on('message', onMessage)
  })
  await client.publishAsync('c/q', Buffer.from(Request.encode({ rid: id, op, ...(args === undefined ? {} : { args }) })), { qos: 1 })
  return answer
}
