import type { ScenarioContext } from '../context.js'

/**
 * Offline and back: p2 receives the first half live, goes offline (a clean
 * disconnect; it keeps its cursor as an app would), p1 sends the second half,
 * then p2 connects again with its cursor and must get exactly the second half,
 * in order, with nothing of the first half repeated.
 */
export async function resume(ctx: ScenarioContext): Promise<void> {
  const sender = await ctx.phone('p1')
  const recipient = await ctx.phone('p2')
  const half = Math.floor(ctx.plan.messages / 2)
  await ctx.window('live', async () => {
    const records = await ctx.paced(sender.sendTo('p2'), 'p1', ['p2'], half)
    await ctx.delivered(records)
    await ctx.receipts(sender, 'p2', records)
  })
  const cursor = recipient.cursor
  await ctx.offline(recipient)
  ctx.mark('offline')
  await ctx.window('offline', async () => {
    const records = await ctx.paced(sender.sendTo('p2'), 'p1', ['p2'], ctx.plan.messages - half)
    await ctx.recorder.settled(ctx.plan.deliveryTimeoutMs)
    const reconnectMs = ctx.mark('reconnect')
    // Latency of a message stored while its recipient was away counts from the moment it came back.
    for (const r of records) r.availableMs = reconnectMs
    await ctx.phone('p2', cursor)
    ctx.mark('synced')
    await ctx.delivered(records)
    await ctx.receipts(sender, 'p2', records)
  })
}
