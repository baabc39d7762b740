import type { Client } from 'aedes'
import { ErrorNotice, type ClientMsgId } from '../protocol/envelopes.js'
import { LowbandError } from '../protocol/errors.js'
import { errorTopic } from '../protocol/topics.js'
import type { HookContext } from './context.js'
import { publishTo } from './context.js'

/**
 * Tells the device that caused it about a coded error, on its own subtree (QoS 0: if the error is
 * lost with the connection, the SDK's resend earns the same error again). Anonymous clients have
 * no subtree: for them the publish is only dropped.
 */
export async function reject (ctx: HookContext, client: Client, error: unknown, topic: string, clientMsgId?: ClientMsgId): Promise<void> {
  const coded = error instanceof LowbandError ? error : new LowbandError('STORE_FAILED', undefined, { cause: error })
  if (!(error instanceof LowbandError)) ctx.log.error({ err: error, clientId: client.id, topic }, 'publish failed')
  ctx.metrics.rejected(coded.code)
  const identity = ctx.identities.get(client)
  if (identity === undefined) return
  const notice = ErrorNotice.encode({ code: coded.code, detail: coded.message, topic, ...(clientMsgId === undefined ? {} : { clientMsgId }) })
  await publishTo(ctx, client, { topic: errorTopic(identity.userId), payload: Buffer.from(notice), qos: 0, retain: false })
    .catch(() => { /* the connection is gone; nothing to tell */ })
}
