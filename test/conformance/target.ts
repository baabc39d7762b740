import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { writeFile } from 'node:fs/promises'
import { createServer, type AddressInfo, type Server } from 'node:net'
import { join } from 'node:path'
import { Aedes } from 'aedes'
import { afterAll, beforeAll } from 'vitest'
import { startTestBroker } from '../helpers/broker.js'
import { tempDirs } from '../helpers/temp-dirs.js'

/**
 * The broker a conformance file runs against. `npm test` runs lowband under `--topic-policy open`
 * with anonymous clients allowed: a plain MQTT 3.1.1 broker outside the chat namespace. For
 * comparison only (never part of `npm test`), `CONFORMANCE_TARGET=aedes` runs the same tests against
 * plain Aedes 1.2 and `CONFORMANCE_TARGET=mosquitto` against Debian's Mosquitto.
 */
export type TargetName = 'lowband' | 'aedes' | 'mosquitto'

export const TARGET: TargetName = (process.env.CONFORMANCE_TARGET as TargetName | undefined) ?? 'lowband'

interface Target {
  port: number
  /** MQTT over WebSocket (path /mqtt), where the target has it: plain Aedes has no listener of its own. */
  wsPort?: number
  close (): Promise<void>
}

/** Starts the target broker for one test file; `port()` is its MQTT port once started. */
export function useTarget (): { port: () => number, wsPort: () => number | undefined } {
  const newDir = tempDirs('lowband-conformance-')
  let target: Target | undefined
  beforeAll(async () => { target = await startTarget(TARGET, newDir) })
  afterAll(async () => { await target?.close() })
  return {
    port: () => {
      if (target === undefined) throw new Error('conformance target not started')
      return target.port
    },
    wsPort: () => target?.wsPort
  }
}

async function startTarget (name: TargetName, newDir: () => Promise<string>): Promise<Target> {
  switch (name) {
    case 'lowband': {
      const broker = await startTestBroker({ topicPolicy: 'open', allowAnonymous: true, logLevel: 'warn' })
      return { port: broker.ports.tcp, wsPort: broker.ports.ws, close: () => broker.close() }
    }
    case 'aedes':
      return startAedes()
    case 'mosquitto':
      return startMosquitto(await newDir())
  }
}

async function startAedes (): Promise<Target> {
  const broker = await Aedes.createBroker()
  const server = createServer(broker.handle)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise((resolve) => broker.close(() => server.close(() => resolve())))
  }
}

export const hasMosquitto = spawnSync('mosquitto', ['-h'], { stdio: 'ignore' }).error === undefined

async function startMosquitto (dir: string): Promise<Target> {
  if (!hasMosquitto) throw new Error('CONFORMANCE_TARGET=mosquitto needs Debian\'s mosquitto package')
  const [port, wsPort] = [await freePort(), await freePort()]
  const config = join(dir, 'mosquitto.conf')
  await writeFile(config, `listener ${port} 127.0.0.1\nlistener ${wsPort} 127.0.0.1\nprotocol websockets\nallow_anonymous true\npersistence false\nlog_dest stderr\n`)
  const child = spawn('mosquitto', ['-c', config], { stdio: ['ignore', 'ignore', 'pipe'] })
  await new Promise<void>((resolve, reject) => {
    let log = ''
    child.stderr!.on('data', (chunk: Buffer) => {
      log += chunk.toString()
      if (log.includes('running')) resolve()
    })
    child.once('exit', (code) => reject(new Error(`mosquitto exited with ${code}: ${log}`)))
  })
  return { port, wsPort, close: () => stop(child) }
}

function stop (child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve()
    child.once('exit', () => resolve())
    child.kill('SIGTERM')
  })
}

function freePort (): Promise<number> {
  return new Promise((resolve, reject) => {
    const server: Server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo
      server.close(() => resolve(port))
    })
  })
}
