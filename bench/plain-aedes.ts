import { createServer, type AddressInfo } from 'node:net'
import { Aedes } from 'aedes'
import { ClassicLevel } from 'classic-level'
import { Committer } from '../storage/embedded/committer.js'
import { durableHooks, protocolFloorHooks, type BaselineHooks } from './baseline-hooks.js'

/**
 * The baseline: Aedes 1.2 with no hooks and its default in-memory persistence, on TCP with Nagle
 * off like lowband's listener. Started as its own process so it gets a core the way lowband and
 * mosquitto do. Prints one JSON line with its port when ready; SIGTERM stops it.
 *
 * `plain-aedes.js <port> [aedes-durable|aedes-protocol <data-dir>]`: with a baseline's name and a
 * directory it is that stored baseline of baseline-hooks.ts (`--with aedes-durable,aedes-protocol`).
 */
const port = Number(process.argv[2] ?? '0')
const mode = process.argv[3]
const dataDir = process.argv[4]

async function hooksFor (): Promise<BaselineHooks> {
  if (mode === undefined) return { options: {} }
  if (dataDir === undefined || (mode !== 'aedes-durable' && mode !== 'aedes-protocol')) throw new Error(`usage: plain-aedes.js <port> [aedes-durable|aedes-protocol <data-dir>], not ${mode}`)
  const db = new ClassicLevel<string, Uint8Array>(dataDir, { keyEncoding: 'utf8', valueEncoding: 'view' })
  await db.open()
  const committer = new Committer(db)
  return mode === 'aedes-durable' ? durableHooks(committer) : protocolFloorHooks(committer)
}

const hooks = await hooksFor()
const broker = await Aedes.createBroker(hooks.options)
hooks.attach?.(broker)
const server = createServer({ noDelay: true }, broker.handle)
server.listen(port, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ ready: true, port: (server.address() as AddressInfo).port })}\n`)
})
process.on('SIGTERM', () => {
  server.close()
  broker.close(() => process.exit(0))
})
