import { WebSocket, WebSocketServer, type RawData } from 'ws'
import type { AddressInfo } from 'node:net'
import { CountProxy, type Direction } from './count-proxy.js'
import { TEXT, type Exchange } from './bytes-lowband.js'
import type { WirePacket } from './packet-labels.js'
import { sleep } from './proc.js'

/**
 * The same message in the JSON API of the reference write-up (shared/seeds/000_…: "1. Send
 * Message", "2. Receive Messages (WebSocket)" and "3. Update Delivery Status"), field for field,
 * with its content made the same 20-byte text, serialised compactly (no whitespace).
 */
export const SEED_JSON = {
  request: { sender_id: 123456789, receiver_id: 987654321, message_type: 'text', content: TEXT, client_message_id: 'msg_abc123', timestamp: 1698765432000 },
  response: { message_id: 'msg_server_xyz789', status: 'sent', timestamp: 1698765432100 },
  delivery: { message_id: 'msg_server_xyz789', sender_id: 123456789, receiver_id: 987654321, message_type: 'text', content: TEXT, timestamp: 1698765432100, encrypted: true },
  statusRequest: { message_id: 'msg_server_xyz789', receiver_id: 987654321, status: 'delivered' },
  statusResponse: { success: true, updated_at: 1698765433000 }
} as const

export interface JsonBytes {
  /** Request and response on the sender's socket, the delivery on the recipient's. */
  message: Exchange
  /** The recipient's "delivered" status update and its response (the seed's third call). */
  deliveredStatus: Exchange
}

const SETTLE_MS = 300

/**
 * Sends the seed's JSON bodies as WebSocket text frames through a real `ws` server, each client
 * behind a counting proxy, so frame headers and client masking (RFC 6455: +4 bytes client →
 * server, 2-byte extended length from 126 bytes) are counted, not computed. No compression
 * (permessage-deflate off), as in the seed. The HTTP upgrade handshake is not counted.
 */
export async function measureJsonBytes (): Promise<JsonBytes> {
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false })
  await new Promise<void>((resolve) => server.once('listening', () => resolve()))
  const port = (server.address() as AddressInfo).port
  const sockets: { sender?: WebSocket, recipient?: WebSocket } = {}
  server.on('connection', (socket, request) => {
    const isSender = request.url?.includes(`user_id=${SEED_JSON.request.sender_id}`) === true
    if (isSender) sockets.sender = socket
    else sockets.recipient = socket
    socket.on('message', (data: RawData) => {
      const body = JSON.parse(data.toString()) as Record<string, unknown>
      if ('content' in body) {
        socket.send(JSON.stringify(SEED_JSON.response))
        sockets.recipient?.send(JSON.stringify(SEED_JSON.delivery))
      } else {
        socket.send(JSON.stringify(SEED_JSON.statusResponse))
      }
    })
  })
  const proxies = { sender: await CountProxy.start(port), recipient: await CountProxy.start(port) }
  const labels: WirePacket[] = []
  proxies.sender.tap = (direction, chunk) => labels.push(...frameLabels(chunk, 'sender', direction))
  proxies.recipient.tap = (direction, chunk) => labels.push(...frameLabels(chunk, 'recipient', direction))
  const open = (proxy: CountProxy, userId: number): Promise<WebSocket> => new Promise((resolve, reject) => {
    const socket = new WebSocket(`ws://127.0.0.1:${proxy.port}/api/v1/messages/subscribe?user_id=${userId}`, { perMessageDeflate: false })
    socket.once('open', () => resolve(socket))
    socket.once('error', reject)
  })
  const sender = await open(proxies.sender, SEED_JSON.request.sender_id)
  const recipient = await open(proxies.recipient, SEED_JSON.request.receiver_id)
  try {
    await sleep(SETTLE_MS)
    const exchange = async (work: () => Promise<void>): Promise<Exchange> => {
      const before = { sender: proxies.sender.snapshot(), recipient: proxies.recipient.snapshot() }
      labels.splice(0)
      await work()
      await sleep(SETTLE_MS)
      const after = { sender: proxies.sender.snapshot(), recipient: proxies.recipient.snapshot() }
      const s = { up: after.sender.up - before.sender.up, down: after.sender.down - before.sender.down }
      const r = { up: after.recipient.up - before.recipient.up, down: after.recipient.down - before.recipient.down }
      return { sender: s, recipient: r, total: s.up + s.down + r.up + r.down, packets: labels.splice(0) }
    }
    const nextMessage = (socket: WebSocket): Promise<void> => new Promise((resolve) => socket.once('message', () => resolve()))
    const message = await exchange(async () => {
      const answered = Promise.all([nextMessage(sender), nextMessage(recipient)])
      sender.send(JSON.stringify(SEED_JSON.request))
      await answered
    })
    const deliveredStatus = await exchange(async () => {
      const answered = nextMessage(recipient)
      recipient.send(JSON.stringify(SEED_JSON.statusRequest))
      await answered
    })
    return { message, deliveredStatus }
  } finally {
    sender.terminate()
    recipient.terminate()
    await proxies.sender.close()
    await proxies.recipient.close()
    await new Promise<void>((resolve) => server.close(() => resolve()))
  }
}

/** Labels each WebSocket frame in a chunk from its header (RFC 6455 §5.2). */
function frameLabels (chunk: Buffer, device: string, direction: Direction): WirePacket[] {
  const out: WirePacket[] = []
  for (let at = 0; at + 2 <= chunk.length;) {
    const opcode = chunk[at]! & 0x0f
    const masked = (chunk[at + 1]! & 0x80) !== 0
    let length = chunk[at + 1]! & 0x7f
    let header = 2
    if (length === 126) { length = chunk.readUInt16BE(at + 2); header = 4 } else if (length === 127) { length = Number(chunk.readBigUInt64BE(at + 2)); header = 10 }
    if (masked) header += 4
    const what = `${opcode === 1 ? 'text' : `opcode ${opcode}`} frame (${length} B JSON + ${header} B header${masked ? ' incl. 4 B mask' : ''})`
    out.push({ device, direction, what, bytes: header + length })
    at += header + length
  }
  return out
}
