import type { Client } from 'aedes'
import { ErrorNotice, type ClientMsgId } from '../protocol/envelopes.js'
import { ERROR_CODES, LowbandError, type ErrorCode } from '../protocol/errors.js'
import { errorTopic } from '../protocol/topics.js'
import { RetriableError } from '../storage/retriable.js'
import type { HookContext } from './context.js'
import { publishTo } from './context.js'

/*
 * How a chat command that failed ends (docs/PROTOCOL.md, "Acknowledgements"): one rule, by the
 * error's type.
 * - A coded LowbandError is a permanent refusal — the same publish would fail again. The device is
 *   told the code (reject) and its publish is acknowledged: nothing more to resend.
 * - Anything else — a RetriableError (store suspect, reopening or closed, shutting down, overload)
 *   or an unexpected failure — a resend can fix. The device is told nothing and its connection is
 *   closed without the PUBACK (retriable), so every MQTT client publishes it again on reconnect
 *   [MQTT-3.3.5-2]. A PUBACK therefore always means stored.
 */

/**
 * Tells the device that caused it about a coded error, on its own subtree (QoS 0: if the error is
 * lost with the connection, the SDK's resend earns the same error again). Anonymous clients have
 * no subtree: for them the publish is only dropped.
 */
export async function reject (ctx: HookContext, client: Client, error: LowbandError, topic: string, clientMsgId?: ClientMsgId): Promise<void> {
  ctx.metrics.rejected(error.code)
  const identity = ctx.identities.get(client)
  if (identity === undefined) return
  const notice = ErrorNotice.encode({ code: error.code, detail: error.message, topic, ...(clientMsgId === undefined ? {} : { clientMsgId }) })
  await publishTo(ctx, client, { topic: errorTopic(identity.userId), payload: Buffer.from(notice), qos: 0, retain: false })
    .catch(() => { /* the connection is gone; nothing to tell */ })
}

/**
 * Logs and counts (under `code` in lowband_rejected_total) a failure a resend can fix, and returns
 * the error to close the connection with: the caller closes it without acknowledging.
 */
export function retriable (ctx: HookContext, client: Client, error: unknown, topic: string, code: ErrorCode = ERROR_CODES.STORE_FAILED.code): Error {
  // While the store is not ready it has said why once (broker/storage.ts): one line per outage, not per message.
  if (error instanceof RetriableError) ctx.log[ctx.storage.health().ready ? 'warn' : 'debug']({ clientId: client.id, topic, reason: error.message }, 'closing the connection without acknowledging: resend later')
  else ctx.log.error({ err: error, clientId: client.id, topic }, 'chat command failed: closing the connection without acknowledging')
  ctx.metrics.rejected(code)
  return error instanceof Error ? error : new Error(String(error))
}

/**
 * A command acknowledged before its work ran (resume, requests) failed: a coded error is told; any
 * other failure closes the connection, and the device reconnects and asks again.
 */
export function failed (ctx: HookContext, client: Client, error: unknown, topic: string): void {
  if (error instanceof LowbandError) {
    void reject(ctx, client, error, topic)
    return
  }
  retriable(ctx, client, error, topic)
  client.close()
}
