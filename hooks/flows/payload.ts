import { DEVICE_PAYLOAD_LIMITS, decodeCbor } from '../../protocol/cbor.js'
import { clientMsgIdSchema, SendRequest, type ClientMsgId } from '../../protocol/envelopes.js'
import { LowbandError } from '../../protocol/errors.js'

/**
 * The payload of one device publish, decoded at most once and only within what a device's
 * envelopes can hold (DEVICE_PAYLOAD_LIMITS): the flow that handles it and the error that refuses
 * it read the same decoded item, so no payload is decoded twice and none costs more than a small
 * constant per byte.
 */
export class DevicePayload {
  readonly bytes: Buffer
  #decoded: { item: unknown } | { error: unknown } | undefined

  constructor (bytes: Buffer) {
    this.bytes = bytes
  }

  /** The one CBOR item; throws its coded error (BAD_ENCODING, BAD_ENVELOPE) every time it is asked. */
  item (): unknown {
    if (this.#decoded === undefined) {
      try {
        this.#decoded = { item: decodeCbor(this.bytes, DEVICE_PAYLOAD_LIMITS) }
      } catch (error) {
        this.#decoded = { error }
      }
    }
    if ('error' in this.#decoded) throw this.#decoded.error
    return this.#decoded.item
  }

  /** The client message id of a send, when the payload has a valid one: to reference it in an error. */
  clientMsgId (): ClientMsgId | undefined {
    let item: unknown
    try {
      item = this.item()
    } catch (error) {
      if (error instanceof LowbandError) return undefined
      throw error
    }
    const parsed = clientMsgIdSchema.safeParse(SendRequest.rawField(item, 'clientMsgId'))
    return parsed.success ? parsed.data : undefined
  }
}
