import { RemoteDevices } from '../broker/cluster/remote-devices.js'

/**
 * What a cluster node's mirror of the other nodes' devices costs per remote device (docs/SCALING.md):
 * 100 000 devices spread over five other nodes, the heap after a full GC before and after.
 * `node --expose-gc dist/bench/mirror-memory.js [devices]`
 */
const gc = (globalThis as { gc?: () => void }).gc
if (gc === undefined) throw new Error('run with node --expose-gc')
const devices = Number(process.argv[2] ?? 100_000)
const nodes = ['node-2', 'node-3', 'node-4', 'node-5', 'node-6']
gc()
const before = process.memoryUsage().heapUsed
const mirror = new RemoteDevices((_user, change) => change())
// Client ids arrive from Redis as strings of their own, as here.
for (let i = 0; i < devices; i++) mirror.set(nodes[i % nodes.length]!, Buffer.from(`user${i}/phone`).toString(), true)
gc()
const bytes = (process.memoryUsage().heapUsed - before) / devices
console.log(`mirror: ${devices} remote devices, ${Math.round(bytes)} bytes each (${mirror.nodes().length} nodes)`)
