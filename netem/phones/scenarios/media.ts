import { randomBytes } from 'node:crypto'
import type { ChatMessage, MediaFetch } from '../../../clients/sdk/index.js'
import { mediaMark } from '../../run/types.js'
import type { ScenarioContext } from '../context.js'
import { withTimeout } from '../sdk-phone.js'

/**
 * Media: p1 sends `messages` photos of `photoBytes` to p2, one after the other. Each goes up to
 * object storage across the link (p1's PUT), then as a media message through the broker; p2
 * downloads it across the link and checks it. A photo counts as delivered once p2 holds the
 * blob, verified: that is what "the recipient has it" means for media.
 */
export async function media(ctx: ScenarioContext): Promise<void> {
  const plan = ctx.plan
  if (plan.scenario !== 'media') throw new Error('media scenario without a media plan')
  let uploadedAt = Number.NaN
  const fetch: MediaFetch = async (url, init) => {
    const response = await globalThis.fetch(url, init)
    if (init.method === 'PUT') uploadedAt = ctx.recorder.nowMs()
    return response
  }
  const [sender, recipient] = await Promise.all([ctx.phone('p1', 0, { fetch }), ctx.phone('p2')])
  let arrived: (message: ChatMessage) => void = () => undefined
  recipient.client.onMessage((message) => { if (message.media !== undefined) arrived(message) })
  ctx.facts.photoBytes = plan.photoBytes

  for (let i = 0; i < plan.messages; i++) {
    const photo = randomBytes(plan.photoBytes)
    const ok = await ctx.window('media', async () => {
      const arrival = new Promise<ChatMessage>((resolve) => { arrived = resolve })
      const record = ctx.recorder.launch(async (tag) => {
        const sent = await sender.client.sendMedia('p2', photo, { mime: 'image/jpeg', width: 1600, height: 1200, name: tag })
        return { id: sent.id, cseq: sent.cseq }
      }, 'p1', ['p2'])
      ctx.marks[mediaMark.upload(i)] = record.sentMs
      const message = await withTimeout(arrival, plan.deliveryTimeoutMs, `photo ${i} did not reach p2 within ${plan.deliveryTimeoutMs} ms`)
      ctx.marks[mediaMark.uploaded(i)] = uploadedAt
      ctx.mark(mediaMark.received(i))
      const blob = await recipient.client.downloadMedia(message)
      if (!Buffer.from(blob).equals(photo)) throw new Error(`photo ${i} arrived different`)
      // The recipient has it: the recorder's delivery, tagged like a text message's body.
      ctx.recorder.delivered('p2', { ...message, body: message.media!.name! })
      await ctx.recorder.settled(plan.deliveryTimeoutMs)
    }).then(() => true, (error: unknown) => {
      ctx.recorder.error(`media: ${error instanceof Error ? error.message : String(error)}`)
      return false
    })
    // A photo that never made it: the link is not fit for more (the report shows what was lost).
    if (!ok) break
  }
}
