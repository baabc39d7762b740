import { setTimeout as sleep } from 'node:timers/promises'
import type { ScenarioContext } from '../context.js'

/**
 * Sending through outages: p1 sends to p2 at a steady pace while the link
 * goes away — on the profile's own schedule (`flapping`), or once, shortened,
 * forced by the scenario. Every message must still arrive, once, in order.
 */
export async function flap(ctx: ScenarioContext): Promise<void> {
  const plan = ctx.plan
  if (plan.scenario !== 'flap') throw new Error('flap scenario given another plan')
  const outage = plan.outage
  const phones = await Promise.all([ctx.phone('p1'), ctx.phone('p2')])
  const [sender] = phones
  // The phone's OS tells every app that the network is back (Android's NetworkCallback, iOS's
  // NWPathMonitor), and a chat app reconnects on it (clients/README.md).
  const networkBack = (): void => {
    for (const phone of phones) phone.client.reconnectNow()
  }
  await ctx.window('flap', async () => {
    const startMs = ctx.mark('sending')
    let keepSending: () => Promise<boolean>
    let forced: Promise<void> = Promise.resolve()
    if (outage.kind === 'forced') {
      forced = (async () => {
        await sleep(outage.atMs)
        await ctx.control.setLinkUp(false)
        await sleep(outage.downMs)
        await ctx.control.setLinkUp(true)
        networkBack()
      })()
      const stopMs = startMs + outage.atMs + outage.downMs + outage.tailMs
      keepSending = async () => ctx.recorder.nowMs() < stopMs
    } else {
      // Keep going until one scheduled outage has come and gone, plus a tail.
      const t0Ns = ctx.recorder.t0Ns
      let told = false
      keepSending = async () => {
        const now = ctx.recorder.nowMs()
        if (now - startMs > outage.maxMs) return false
        const events = await ctx.control.linkEvents()
        const ups = events.filter((e) => e.state === 'up' && Number(BigInt(e.atNs) - t0Ns) / 1e6 > startMs)
        const firstUp = ups[0]
        // The OS's connectivity event, as soon as the pacing of sends looks at the link again.
        if (firstUp !== undefined && !told) {
          told = true
          networkBack()
        }
        return firstUp === undefined || now < Number(BigInt(firstUp.atNs) - t0Ns) / 1e6 + outage.tailMs
      }
    }
    const records = await ctx.paced(sender.sendTo('p2'), 'p1', ['p2'], 1, keepSending)
    await forced
    ctx.mark('lastSend')
    await ctx.delivered(records)
    await ctx.receipts(sender, 'p2', records)
  })
}
