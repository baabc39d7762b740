import { createServer, type AddressInfo } from 'node:net'
import { Aedes, type AedesOptions } from 'aedes'
import { ClassicLevel } from 'classic-level'
import { Committer } from '../storage/embedded/committer.js'

/**
 * The baseline: Aedes 1.2 with no hooks and its default in-memory persistence, on TCP with Nagle
 * off like lowband's listener. Started as its own process so it gets a core the way lowband and
 * mosquitto do. Prints one JSON line with its port when ready; SIGTERM stops it.
 *
 * With a directory as second argument it is the *durable* baseline (`--with aedes-durable`): the
 * least a broker must do to promise "stored" with its PUBACK — each QoS 1 payload put into LevelDB
 * through lowband's own group committer (one synced batch per turn of the event loop) before Aedes
 * acknowledges it. No ids, sequences, receipts or validation: it prices durability alone.
 */
const port = Number(process.argv[2] ?? '0')
const dataDir = process.argv[3]
const options: AedesOptions = {}
if (dataDir !== undefined) {
  const db = new ClassicLevel<string, Uint8Array>(dataDir, { keyEncoding: 'utf8', valueEncoding: 'view' })
  await db.open()
  const committer = new Committer(db)
  let stored = 0
  options.authorizePublish = (_client, packet, done) => {
    if (packet.qos === 0) return done(null)
    committer.write([{ type: 'put', key: `m!${String(++stored).padStart(15, '0')}`, value: packet.payload as Buffer }])
      .then(() => done(null), (error: unknown) => done(error as Error))
  }
}
const broker = await Aedes.createBroker(options)
const server = createServer({ noDelay: true }, broker.handle)
server.listen(port, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ ready: true, port: (server.address() as AddressInfo).port })}\n`)
})
process.on('SIGTERM', () => {
  server.close()
  broker.close(() => process.exit(0))
})
