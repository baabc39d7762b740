import { createServer, type AddressInfo } from 'node:net'
import { Aedes } from 'aedes'

/**
 * The baseline: Aedes 1.2 with no hooks and its default in-memory persistence, on TCP with Nagle
 * off like lowband's listener. Started as its own process so it gets a core the way lowband and
 * mosquitto do. Prints one JSON line with its port when ready; SIGTERM stops it.
 */
const port = Number(process.argv[2] ?? '0')
const broker = await Aedes.createBroker()
const server = createServer({ noDelay: true }, broker.handle)
server.listen(port, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ ready: true, port: (server.address() as AddressInfo).port })}\n`)
})
process.on('SIGTERM', () => {
  server.close()
  broker.close(() => process.exit(0))
})
