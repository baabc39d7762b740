import type { RawDevice } from '../raw-device.js'
import { setTimeout as sleep } from 'node:timers/promises'
import { phonesFor } from '../../run/types.js'
import type { ScenarioContext } from '../context.js'

/**
 * A typing storm beside real messages: p1 sends p2 paced messages twice, first
 * on a quiet link, then while typists (raw devices, because the SDK debounces
 * typing to one signal per 3 s) flood p2 with QoS 0 typing signals. The storm
 * shares the link's bottleneck with the messages both ways; the messages must
 * still all arrive, once, in order, and their latency is compared across the phases.
 */
export async function typing(ctx: ScenarioContext): Promise<void> {
  const plan = ctx.plan
  if (plan.scenario !== 'typing') throw new Error('typing scenario given another plan')
  const typistUsers = phonesFor(plan).slice(2)
  const [sender] = await Promise.all([ctx.phone('p1'), ctx.phone('p2')])
  const typists = await Promise.all(typistUsers.map((user) => ctx.raw(user)))

  await ctx.window('quiet', async () => {
    const records = await ctx.paced(sender.sendTo('p2'), 'p1', ['p2'], plan.messages)
    await ctx.delivered(records)
    await ctx.receipts(sender, 'p2', records)
  })

  await ctx.window('storm', async () => {
    const storm = startStorm(typists, 'p2', plan.signalsPerSecond)
    try {
      // Let the storm fill the link's queues before the first message joins them.
      await sleep(1000)
      const records = await ctx.paced(sender.sendTo('p2'), 'p1', ['p2'], plan.messages)
      await ctx.delivered(records)
      await ctx.receipts(sender, 'p2', records)
    } finally {
      ctx.facts.typingSignals = storm.stop()
    }
  })
  ctx.facts.typingPerSecond = plan.signalsPerSecond
}

/** Every typist sends `perSecond` / typists signals a second, staggered; stop() returns how many went out. */
function startStorm(typists: readonly RawDevice[], to: string, perSecond: number): { stop: () => number } {
  let sent = 0
  const periodMs = (1000 * typists.length) / perSecond
  const timers = typists.map((typist, i) => {
    let timer: NodeJS.Timeout | undefined
    const start = setTimeout(() => {
      timer = setInterval(() => {
        typist.typing(to)
        sent++
      }, periodMs)
    }, (periodMs * i) / typists.length)
    return () => {
      clearTimeout(start)
      clearInterval(timer)
    }
  })
  return {
    stop: () => {
      for (const stop of timers) stop()
      return sent
    }
  }
}
