import type { ChatMessage, SendResult } from '../sdk/index.js'

/** One JSON line per message for `recv`; a bytes body goes as base64. */
export function messageLine (message: ChatMessage): string {
  const { id, from, to, group, seq, cseq, ts, kind, own } = message
  const body = message.text === undefined ? { bytes: Buffer.from(message.body as Uint8Array).toString('base64') } : { text: message.text }
  return JSON.stringify({ id, from, to, ...(group === undefined ? {} : { group }), seq, cseq, ts, kind, own, ...body }) + '\n'
}

export function sendResultLine (result: SendResult, json: boolean): string {
  return (json ? JSON.stringify({ id: result.id, seq: result.seq, cseq: result.cseq, ts: result.ts }) : result.id) + '\n'
}

/** `[14:03] bob: hello` for the chat screen. */
export function chatLine (message: ChatMessage, self: string): string {
  const time = new Date(message.ts * 1000).toTimeString().slice(0, 5)
  const who = message.from === self ? 'me' : message.from
  const text = message.text ?? `<${(message.body as Uint8Array).length} bytes>`
  return `[${time}] ${who}: ${text}`
}
