import { createServer, type AddressInfo } from 'node:net'
import { Aedes } from 'aedes'
import { ClassicLevel } from 'classic-level'
import { Committer } from '../storage/embedded/committer.js'
import { isStoredBaseline, STORED_BASELINES, type BaselineHooks } from './baseline-hooks.js'

/**
 * The baseline: Aedes 1.2 with no hooks and its default in-memory persistence, on TCP with Nagle
 * off like lowband's listener. Started as its own process so it gets a core the way lowband and
 * mosquitto do. Prints one JSON line with its port when ready; SIGTERM stops it.
 *
 * `plain-aedes.js <port> [<baseline> <data-dir>]`: with the name of a stored baseline of
 * baseline-hooks.ts and a directory it is that baseline (`--with aedes-durable,aedes-protocol`).
 */
const port = Number(process.argv[2] ?? '0')
const mode = process.argv[3]
const dataDir = process.argv[4]

async function hooksFor (): Promise<BaselineHooks> {
  if (mode === undefined) return { options: {} }
  if (dataDir === undefined || !isStoredBaseline(mode)) throw new Error(`usage: plain-aedes.js <port> [${Object.keys(STORED_BASELINES).join('|')} <data-dir>], not ${mode}`)
  const db = new ClassicLevel<string, Uint8Array>(dataDir, { keyEncoding: 'utf8', valueEncoding: 'view' })
  await db.open()
  return STORED_BASELINES[mode](new Committer(db))
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
