import type { ChatMessage, GroupInfo, MediaRef, SendResult } from '../sdk/index.js'
import { mediaLabel } from './media-files.js'

/**
 * One JSON line per message for `recv`; a bytes body goes as base64, a group system message with
 * its notice, a media message with its reference (and `extra`: where `--download` saved it).
 */
export function messageLine (message: ChatMessage, extra: Record<string, unknown> = {}): string {
  const { id, from, to, group, seq, cseq, ts, kind, own, system, media, encrypted, undecryptable, resent, keyChange } = message
  const body = media !== undefined ? { media: mediaJson(media) } : message.text === undefined ? { bytes: Buffer.from(message.body as Uint8Array).toString('base64') } : { text: message.text }
  return JSON.stringify({
    id, from, to, ...(group === undefined ? {} : { group }), seq, cseq, ts, kind, own, ...body,
    ...(system === undefined ? {} : { system }),
    ...(encrypted === true ? { encrypted } : {}),
    ...(undecryptable === undefined ? {} : { undecryptable: undecryptable.errorName }),
    ...(resent === true ? { resent } : {}),
    ...(keyChange === undefined ? {} : { keyChange }),
    ...extra
  }) + '\n'
}

function mediaJson (media: MediaRef): Record<string, unknown> {
  const { id, sha256, thumbnail, mediaKey, ...rest } = media
  return {
    ...rest,
    id: Buffer.from(id).toString('base64url'),
    sha256: Buffer.from(sha256).toString('hex'),
    ...(thumbnail === undefined ? {} : { thumbnail: Buffer.from(thumbnail).toString('base64') }),
    ...(mediaKey === undefined ? {} : { mediaKey: Buffer.from(mediaKey).toString('base64') })
  }
}

export function sendResultLine (result: SendResult, json: boolean): string {
  return (json ? JSON.stringify({ id: result.id, seq: result.seq, cseq: result.cseq, ts: result.ts }) : result.id) + '\n'
}

/** `[14:03] bob: hello` for the chat screen; a group's system message as `-- alice added bob`. */
export function chatLine (message: ChatMessage, self: string): string {
  if (message.system !== undefined) return `-- ${message.system.text}`
  if (message.keyChange !== undefined) return `-- ${message.keyChange.user}'s security code changed (device ${message.keyChange.device}); /verify to compare it again`
  const who = message.from === self ? 'me' : message.from
  const text = message.undecryptable !== undefined
    ? '<could not decrypt this message on this device>'
    : message.media !== undefined ? `[${mediaLabel(message.media)}]` : message.text ?? `<${(message.body as Uint8Array).length} bytes>`
  return `[${clockTime(message.ts)}] ${who}: ${text}`
}

/** `g1a2b… "Hikers" members: alice (admin), bob` — or the GroupInfo as JSON. */
export function groupLine (group: GroupInfo, json: boolean): string {
  if (json) return JSON.stringify(group) + '\n'
  const members = group.members.map((m) => group.admins.includes(m) ? `${m} (admin)` : m).join(', ')
  return `${group.id} ${JSON.stringify(group.name)} members: ${members}\n`
}

/** HH:MM in local time, with the date when it is not today. */
export function clockTime (unixSeconds: number, now: Date = new Date()): string {
  const date = new Date(unixSeconds * 1000)
  const time = date.toTimeString().slice(0, 5)
  if (date.toDateString() === now.toDateString()) return time
  const day = `${date.getFullYear()}-${String(date.getMonth() + 1).padStart(2, '0')}-${String(date.getDate()).padStart(2, '0')}`
  return `${day} ${time}`
}
