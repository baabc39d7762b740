import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { basename, extname, join } from 'node:path'
import type { ChatMessage, MediaRef } from '../sdk/index.js'
import { UsageError } from './errors.js'

/** Types by file extension, for `send --file` without `--mime`: what phones send most. */
const TYPES: Readonly<Record<string, string>> = {
  '.jpg': 'image/jpeg', '.jpeg': 'image/jpeg', '.png': 'image/png', '.gif': 'image/gif', '.webp': 'image/webp', '.heic': 'image/heic',
  '.mp4': 'video/mp4', '.3gp': 'video/3gpp', '.mov': 'video/quicktime', '.webm': 'video/webm',
  '.ogg': 'audio/ogg', '.opus': 'audio/ogg', '.m4a': 'audio/mp4', '.aac': 'audio/aac', '.mp3': 'audio/mpeg', '.amr': 'audio/amr', '.wav': 'audio/wav',
  '.pdf': 'application/pdf', '.zip': 'application/zip', '.txt': 'text/plain'
}
const EXTENSIONS: Readonly<Record<string, string>> = Object.fromEntries(Object.entries(TYPES).map(([ext, type]) => [type, ext]).reverse())

/** A file to send: its bytes, type (`mime`, else from its extension) and name. */
export async function readMediaFile (path: string, mime?: string): Promise<{ bytes: Uint8Array, mime: string, name: string }> {
  const bytes = await readFile(path).catch((error: NodeJS.ErrnoException) => { throw new UsageError(`cannot read --file ${JSON.stringify(path)}: ${error.code ?? error.message}`) })
  return { bytes, mime: mime ?? TYPES[extname(path).toLowerCase()] ?? 'application/octet-stream', name: basename(path) }
}

/**
 * Where `recv --download DIR` saves a message's blob: named by the message id (unique, the same on
 * every device) and the sender's file name or an extension for its type.
 */
export async function saveMedia (dir: string, message: ChatMessage, bytes: Uint8Array): Promise<string> {
  const media = message.media!
  const suffix = media.name === undefined ? EXTENSIONS[media.mime.toLowerCase()] ?? '' : `-${media.name.replace(/[^A-Za-z0-9._-]/g, '_')}`
  const path = join(dir, `${message.id.replace(/:/g, '_')}${suffix}`)
  await mkdir(dir, { recursive: true })
  await writeFile(path, bytes)
  return path
}

/** `photo.jpg: image/jpeg, 100 KB, 640×480` — a media message on one line. */
export function mediaLabel (media: MediaRef): string {
  const parts = [media.mime, size(media.size)]
  if (media.width !== undefined && media.height !== undefined) parts.push(`${media.width}×${media.height}`)
  if (media.duration !== undefined) parts.push(duration(media.duration))
  return `${media.name === undefined ? '' : `${media.name}: `}${parts.join(', ')}`
}

function size (bytes: number): string {
  if (bytes < 1024) return `${bytes} B`
  if (bytes < 1024 * 1024) return `${Math.round(bytes / 1024)} KB`
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`
}

function duration (ms: number): string {
  const seconds = Math.round(ms / 1000)
  return `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, '0')}`
}
