import { randomBytes } from 'node:crypto'
import { connect, type MqttClient } from 'mqtt'
import { ErrorNotice, SendRequest, StoredAck, TypingSignal } from '../../protocol/envelopes.js'
import { errorName } from '../../protocol/errors.js'
import { CreateGroupArgs, GroupInfo, OP, Request, Response } from '../../protocol/requests.js'
import { classifyUserTopic, COMMAND, userSubtree } from '../../protocol/topics.js'
import { messageId } from '../../clients/sdk/message-id.js'
import type { Stored } from './recorder.js'

/**
 * A device that speaks the wire protocol directly over mqtt.js, for what the
 * SDK does not offer (yet): group requests and group sends, and typing signals
 * at a rate no well-behaved SDK would send. It is deliberately small: no
 * outbox, no reconnect — scenarios that use it run on a link that stays up.
 */
export class RawDevice {
  readonly userId: string
  readonly #client: MqttClient
  readonly #acks = new Map<string, { group: string; resolve: (ack: Stored) => void; reject: (error: Error) => void }>()
  readonly #responses = new Map<number, (response: Response) => void>()
  #nextRid = 1

  private constructor(userId: string, client: MqttClient) {
    this.userId = userId
    this.#client = client
    client.on('message', (topic, payload) => this.#route(topic, payload))
    // mqtt.js emits 'error' for a broken socket too; unheard, that would end the phone process.
    // The scenario sees the consequence (a send never acknowledged), which is what it measures.
    client.on('error', () => undefined)
  }

  /** Connects as `<user>/<device>` and subscribes to the user's subtree (acks, responses, errors, receipts). */
  static async connect(url: string, userId: string, deviceId: string, token: string, timeoutMs: number): Promise<RawDevice> {
    const client = connect(url, {
      clientId: `${userId}/${deviceId}`,
      username: userId,
      password: token,
      protocolVersion: 4,
      clean: true,
      keepalive: 60,
      connectTimeout: timeoutMs,
      reconnectPeriod: 0
    })
    await new Promise<void>((resolve, reject) => {
      client.once('connect', () => resolve())
      client.once('error', reject)
      client.once('close', () => reject(new Error(`${userId}: connection closed before CONNACK`)))
    })
    const device = new RawDevice(userId, client)
    await client.subscribeAsync(userSubtree(userId), { qos: 1 })
    return device
  }

  /** createGroup (op 10): the creator becomes admin; resolves with the group id. */
  async createGroup(name: string, members: readonly string[]): Promise<string> {
    const result = await this.#request(OP.createGroup, CreateGroupArgs.toCbor({ name, members: [...members] }))
    return GroupInfo.fromCbor(result).id
  }

  /** A group message (SendRequest with `group`); resolves on the broker's stored-ack. */
  sendToGroup(group: string, body: string): Promise<Stored> {
    const clientMsgId = randomBytes(8)
    const key = clientMsgId.toString('hex')
    return new Promise((resolve, reject) => {
      this.#acks.set(key, { group, resolve, reject })
      this.#client.publish(COMMAND.send, Buffer.from(SendRequest.encode({ clientMsgId, group, body })), { qos: 1 }, (error) => {
        if (error) {
          this.#acks.delete(key)
          reject(error)
        }
      })
    })
  }

  /** One typing signal (QoS 0, as the protocol has it: nothing is stored or acknowledged). */
  typing(to: string): void {
    this.#client.publish(COMMAND.typing, Buffer.from(TypingSignal.encode({ to, state: 1 })), { qos: 0 })
  }

  async close(): Promise<void> {
    await this.#client.endAsync(true)
  }

  #request(op: number, args: unknown): Promise<unknown> {
    const rid = this.#nextRid++
    return new Promise((resolve, reject) => {
      this.#responses.set(rid, (response) => {
        this.#responses.delete(rid)
        if (response.code !== undefined) reject(new Error(`request ${op}: ${describeCode(response.code)} ${response.detail ?? ''}`.trim()))
        else resolve(response.result)
      })
      this.#client.publish(COMMAND.request, Buffer.from(Request.encode({ rid, op, args })), { qos: 1 })
    })
  }

  #route(topic: string, payload: Buffer): void {
    const where = classifyUserTopic(topic)
    if (where?.userId !== this.userId) return
    if (where.kind === 'ack') {
      const ack = StoredAck.decode(payload)
      const key = idKey(ack.clientMsgId)
      const waiting = this.#acks.get(key)
      waiting?.resolve({ id: messageId(this.userId, { group: waiting.group }, ack.cseq), cseq: ack.cseq })
      this.#acks.delete(key)
    } else if (where.kind === 'response') {
      const response = Response.decode(payload)
      this.#responses.get(response.rid)?.(response)
    } else if (where.kind === 'error') {
      const notice = ErrorNotice.decode(payload)
      const key = notice.clientMsgId === undefined ? undefined : idKey(notice.clientMsgId)
      const waiting = key === undefined ? undefined : this.#acks.get(key)
      if (key !== undefined && waiting) {
        this.#acks.delete(key)
        waiting.reject(new Error(`${describeCode(notice.code)}: ${notice.detail ?? ''}`))
      }
    }
  }
}

function describeCode(code: number): string {
  return errorName(code) ?? `error ${code}`
}

function idKey(id: Uint8Array | string | number): string {
  return id instanceof Uint8Array ? Buffer.from(id).toString('hex') : String(id)
}
