import { spawn, type ChildProcess } from 'node:child_process'
import { execFileSync } from 'node:child_process'
import { createServer } from 'node:net'
import { once } from 'node:events'

/** Whether a redis-server binary is on the PATH (fault tests skip without it). */
export const HAS_REDIS_SERVER = (() => {
  try {
    execFileSync('redis-server', ['--version'], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
})()

export interface PrivateRedis {
  url: string
  /** SIGKILL: Redis vanishes mid-traffic. */
  kill (): Promise<void>
  /** Starts it again on the same port (empty: nothing persisted). */
  start (): Promise<void>
}

async function freePort (): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1')
  await once(server, 'listening')
  const port = (server.address() as { port: number }).port
  server.close()
  return port
}

/** A redis-server of this test's own on a free loopback port, never the shared one. */
export async function startPrivateRedis (): Promise<PrivateRedis> {
  const port = await freePort()
  let child: ChildProcess | undefined
  const redis: PrivateRedis = {
    url: `redis://127.0.0.1:${port}`,
    async kill () {
      if (child === undefined) return
      const exited = once(child, 'exit')
      child.kill('SIGKILL')
      await exited
      child = undefined
    },
    async start () {
      child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: ['ignore', 'pipe', 'inherit'] })
      let output = ''
      child.stdout!.setEncoding('utf8')
      await new Promise<void>((resolve, reject) => {
        child!.once('exit', (code) => reject(new Error(`redis-server exited (${code}): ${output}`)))
        child!.stdout!.on('data', (text: string) => {
          output += text
          if (output.includes('Ready to accept connections')) resolve()
        })
      })
      child.stdout!.resume()
    }
  }
  await redis.start()
  return redis
}
