import { ERROR_CODES, errorName, LowbandError } from '../../protocol/errors.js'
import type { ErrorNotice } from '../../protocol/envelopes.js'

/** MQTT 3.1.1 CONNACK return codes [MQTT-3.2.2.3]. */
const CONNACK_REASONS: Record<number, string> = {
  1: 'unacceptable protocol version',
  2: 'client identifier rejected',
  3: 'server unavailable',
  4: 'bad user name or password',
  5: 'not authorized'
}

/** The broker refused the connection in its CONNACK. */
export class ConnectionRefusedError extends Error {
  readonly returnCode: number

  constructor (returnCode: number, options?: { cause?: unknown }) {
    super(`connection refused: ${CONNACK_REASONS[returnCode] ?? `return code ${returnCode}`}`, options)
    this.name = 'ConnectionRefusedError'
    this.returnCode = returnCode
  }

  /** Only "server unavailable" is worth retrying with the same credentials. */
  get retryable (): boolean {
    return this.returnCode === 3
  }

  /** A refusal a fresh token could fix. */
  get credentials (): boolean {
    return this.returnCode === 4 || this.returnCode === 5
  }
}

/** The broker refused the device's subscription to its own subtree (SUBACK 0x80): a setup error. */
export class SubscriptionRefusedError extends Error {
  constructor (filter: string) {
    super(`subscription to ${filter} refused`)
    this.name = 'SubscriptionRefusedError'
  }
}

/**
 * A connection attempt heard nothing from the network (no TCP handshake) within its bound: the SDK
 * abandons the socket and tries a fresh one at once instead of waiting on the kernel's SYN
 * retransmission backoff (1, 2, 4, 8 … s), which can hold the next SYN for seconds after the link is back.
 */
export class LinkSilentError extends Error {
  constructor (waitedMs: number) {
    super(`no answer from the network within ${waitedMs} ms`)
    this.name = 'LinkSilentError'
  }
}

/** The client was closed (by close(), or for good after a fatal connection error). */
export class ClientClosedError extends Error {
  constructor (options?: { cause?: unknown }) {
    super('the lowband client is closed', options)
    this.name = 'ClientClosedError'
  }
}

/** The broker acknowledged a send (PUBACK) several times but never said stored or refused. */
export class UnconfirmedSendError extends Error {
  constructor (attempts: number) {
    super(`the broker acknowledged the send ${attempts} times without a stored-ack`)
    this.name = 'UnconfirmedSendError'
  }
}

/** A request got no response in time (after its retry, if it may be repeated). */
export class RequestTimeoutError extends Error {
  readonly op: string

  constructor (op: string, timeoutMs: number, attempts: number) {
    super(`no response to ${op} within ${timeoutMs} ms${attempts > 1 ? ` (${attempts} attempts)` : ''}`)
    this.name = 'RequestTimeoutError'
    this.op = op
  }
}

/**
 * The coded error an ErrorNotice (or a failed Response: same code and detail) carries. The broker's `detail` already starts with the catalog
 * message; it is stripped so the LowbandError does not say it twice. A code this SDK does not
 * know yet (a newer broker) becomes a plain Error naming the code.
 */
export function errorFromNotice (notice: Pick<ErrorNotice, 'code' | 'detail'>): Error {
  const name = errorName(notice.code)
  if (name === undefined) return new Error(`broker error ${notice.code}${notice.detail === undefined ? '' : `: ${notice.detail}`}`)
  const catalog = ERROR_CODES[name].message
  let detail = notice.detail
  if (detail === catalog) detail = undefined
  else if (detail?.startsWith(`${catalog}: `) === true) detail = detail.slice(catalog.length + 2)
  return new LowbandError(name, detail)
}
