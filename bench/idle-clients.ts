import { serve, type WorkerMessage } from './ipc.js'
import { RawClient } from './raw-client.js'

/**
 * An idle-device process (child of the memory section): opens raw MQTT connections that
 * authenticate, subscribe once to their user's subtree, and then only ping on keepalive.
 */

export interface ConnectMessage extends WorkerMessage {
  type: 'connect'
  port: number
  /** Global device numbers [from, to): device k is device d<k mod 100> of user i<k div 100>. */
  from: number
  to: number
  devicesPerUser: number
  /** lowband: one token per user, indexed by user number; plain brokers: none. */
  tokens?: string[]
  /** Source address of device k (each address has its own ephemeral ports). */
  sourcePrefix: string
  perSource: number
  keepalive: number
  /** MQTT clean session: false (the SDK's reading device) keeps a session on the broker. */
  clean: boolean
}

export interface Connected extends WorkerMessage { type: 'connected', ok: number, failed: number, firstError?: string }

const CONCURRENCY = 100
const clients: RawClient[] = []

async function connectRange (message: ConnectMessage): Promise<Connected> {
  let next = message.from
  let ok = 0
  let failed = 0
  let firstError: string | undefined
  const lane = async (): Promise<void> => {
    while (next < message.to) {
      const k = next++
      const user = Math.floor(k / message.devicesPerUser)
      const userId = `i${user}`
      const token = message.tokens?.[user]
      try {
        const client = await RawClient.connect({
          port: message.port,
          clientId: `${userId}/d${k % message.devicesPerUser}`,
          ...(token === undefined ? {} : { username: userId, password: token }),
          clean: message.clean,
          keepalive: message.keepalive,
          localAddress: `${message.sourcePrefix}.${1 + Math.floor((k - message.from) / message.perSource)}`,
          connectTimeoutMs: 60_000
        })
        await client.subscribe(`u/${userId}/#`, 1)
        clients.push(client)
        ok++
      } catch (error) {
        failed++
        firstError ??= (error as Error).message
      }
    }
  }
  await Promise.all(Array.from({ length: CONCURRENCY }, lane))
  return { type: 'connected', ok, failed, ...(firstError === undefined ? {} : { firstError }) }
}

// Pings spread over the keepalive period (one slice a second), not 20 000 at once.
let slice = 0
setInterval(() => {
  const period = 45
  for (let i = slice % period; i < clients.length; i += period) clients[i]!.ping()
  slice++
}, 1000).unref()

serve(async (message) => {
  if (message.type === 'connect') return connectRange(message as ConnectMessage)
  throw new Error(`unknown message ${message.type}`)
})
