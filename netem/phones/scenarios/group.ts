import { setTimeout as sleep } from 'node:timers/promises'
import { phonesFor } from '../../run/types.js'
import type { ScenarioContext } from '../context.js'

/**
 * Group fan-out: p1 (a raw-protocol device: the SDK has no group API yet)
 * creates a group with the others and sends every message to it; each member
 * phone (SDK) must get each message once, in the group's one order.
 */
export async function group(ctx: ScenarioContext): Promise<void> {
  const [admin, ...members] = phonesFor(ctx.plan)
  if (admin === undefined || members.length === 0) throw new Error('group needs at least two phones')
  // Members must exist (have connected once) before they can be added.
  const phones = await Promise.all(members.map((user) => ctx.phone(user)))
  const sender = await ctx.raw(admin)
  const cursors = phones.map((p) => p.cursor)
  const groupId = await sender.createGroup('netem', members)
  // Let the "created" system message reach everyone, so set-up stays out of the byte count.
  for (let i = 0; i < 600 && phones.some((p, n) => p.cursor <= (cursors[n] ?? 0)); i++) await sleep(50)
  await ctx.window('group', async () => {
    const records = await ctx.paced((body) => sender.sendToGroup(groupId, body), admin, members, ctx.plan.messages)
    await ctx.delivered(records)
  })
}
