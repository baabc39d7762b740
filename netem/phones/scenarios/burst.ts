import type { ScenarioContext } from '../context.js'

/** 1:1 burst: p1 sends every message at once to p2; the outbox window and the link queue them. */
export async function burst(ctx: ScenarioContext): Promise<void> {
  const [sender] = await Promise.all([ctx.phone('p1'), ctx.phone('p2')])
  await ctx.window('burst', async () => {
    const records = await ctx.paced(sender.sendTo('p2'), 'p1', ['p2'], ctx.plan.messages)
    await ctx.delivered(records)
    await ctx.receipts(sender, 'p2', records)
  })
}
