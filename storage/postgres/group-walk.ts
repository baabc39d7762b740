import type pg from 'pg'
import { KIND } from '../../protocol/envelopes.js'

/** Group messages one walk passes; the next walk goes on from where it stopped. */
const GROUP_WALK = 1000

/**
 * Walks a group conversation's messages after cseq `from` while every member each was stored for
 * (its sender excluded) is at or past it by `reached` — delivered to all, or read by all. Returns
 * how far it got and, per sender, the last of its messages passed (system messages carry no ticks).
 */
export async function walkGroup (client: pg.PoolClient, conversation: string, from: number, reached: ReadonlyMap<string, number>): Promise<{ to: number, bySender: Map<string, number> }> {
  const { rows } = await client.query<{ cseq: string, sender: string, kind: number, holders: string[] }>(
    `SELECT cseq, sender, kind, holders FROM messages WHERE conversation = $1 AND cseq > $2 ORDER BY cseq LIMIT ${GROUP_WALK}`, [conversation, from])
  let to = from
  const bySender = new Map<string, number>()
  for (const message of rows) {
    const cseq = Number(message.cseq)
    if (message.holders.some((member) => member !== message.sender && (reached.get(member) ?? 0) < cseq)) break
    to = cseq
    if (message.kind !== KIND.system) bySender.set(message.sender, cseq)
  }
  return { to, bySender }
}
