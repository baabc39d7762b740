/**
 * A failure the client can fix by sending the same request again later: nothing was stored, and
 * nothing about the request was wrong. The storage adapters throw it when they cannot store now (a
 * failed write left the store suspect, the store is reopening, damaged or closed); the flows throw
 * it for shutdown and overload. The publish hook answers it by closing the connection without the
 * PUBACK, so an MQTT client resends on reconnect ([MQTT-3.3.5-2]); a coded LowbandError, by
 * contrast, is a permanent refusal and is acknowledged (docs/PROTOCOL.md, acknowledgements).
 */
export class RetriableError extends Error {
  override name = 'RetriableError'
}
