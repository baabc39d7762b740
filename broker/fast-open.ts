import { readFileSync } from 'node:fs'
import type { Server as HttpServer } from 'node:http'
import type { Server } from 'node:net'
import { fastOpen } from '../native/fast-open.js'

/**
 * Connections a listener holds that came with data in their SYN and have not finished their
 * handshake; past it a SYN's data waits for the handshake as without Fast Open (RFC 7413 §5.1).
 */
const FAST_OPEN_QUEUE = 1024
/** net.ipv4.tcp_fastopen: the server side on for listeners that ask (2), or for every listener (0x400). */
const SERVER_BITS = 0x2 | 0x400

/** Why a listener refused TCP_FASTOPEN, if one did. */
let refused: string | undefined

/**
 * Lets a listener take data in a SYN (TCP Fast Open, RFC 7413): a reconnecting phone that holds a
 * cookie from an earlier connection sends its CONNECT in its SYN, and gets the CONNACK and its
 * backlog one round trip after the reconnect instead of two (clients/sdk/fast-open-transport.ts).
 * A CONNECT is safe to take before the handshake: a replayed SYN's CONNECT authenticates as the
 * original did, and what a phone pipelines behind it is a resume request (idempotent) or a send the
 * store deduplicates. Nothing happens where the helper is not built.
 */
export function allowFastOpen (server: Server | HttpServer): void {
  const fd = (server as unknown as { _handle?: { fd?: number } })._handle?.fd
  const tfo = fastOpen()
  if (tfo === undefined || fd === undefined || fd < 0) return
  try {
    tfo.listen(fd, FAST_OPEN_QUEUE)
  } catch (error) {
    // A kernel that refuses the option costs the round trip, never the listener.
    refused = (error as Error).message
  }
}

/** What the ready line says of it: 'on', or why it is off. */
export function fastOpenStatus (): string {
  if (fastOpen() === undefined) return 'off: not built (npm run build needs a C compiler and Node\'s headers)'
  if (refused !== undefined) return `off: ${refused}`
  let setting: number
  try {
    setting = Number(readFileSync('/proc/sys/net/ipv4/tcp_fastopen', 'utf8').trim())
  } catch {
    return 'off: no net.ipv4.tcp_fastopen'
  }
  return (setting & SERVER_BITS) === 0 ? `off: the host's net.ipv4.tcp_fastopen is ${setting}; set 3 (README: TCP settings for mobile links)` : 'on'
}
