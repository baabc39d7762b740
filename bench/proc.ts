import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process'
import { readdirSync, readFileSync, rmSync } from 'node:fs'
import { createServer, connect } from 'node:net'
import { statCpuMs } from './thread-cpu.js'

/**
 * File descriptors for children that hold tens of thousands of sockets. Node cannot raise its own
 * limit, so children are started through `sh -c 'ulimit -n'`, up to the hard limit. Raising the hard
 * limit needs CAP_SYS_RESOURCE, which a container's root may lack (then the hard limit is the cap).
 */
export function fdHardLimit (): number {
  const match = /^Max open files\s+\S+\s+(\S+)/m.exec(readFileSync('/proc/self/limits', 'utf8'))
  return match === null || match[1] === 'unlimited' ? 1_048_576 : Number(match[1])
}

/**
 * Every child still running. A broker has no IPC channel to notice the bench going away, so when the
 * bench exits — normally, on an error or on Ctrl-C — whatever it started is killed with it.
 */
const live = new Set<ChildProcess>()
const scratch = new Set<string>()
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL')
  for (const dir of scratch) rmSync(dir, { recursive: true, force: true })
})

/** A temporary directory to remove when the bench exits, if nothing removed it before. */
export function removeOnExit (dir: string): string {
  scratch.add(dir)
  return dir
}
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(130))

export interface Spawned {
  readonly child: ChildProcess
  readonly pid: number
  /** The last ~64 KiB of stdout and stderr, for error messages. */
  output (): string
  /** Resolves with the exit code (or null when killed by a signal). */
  readonly exited: Promise<number | null>
  /** SIGTERM, then SIGKILL when still alive after `graceMs`. */
  stop (graceMs?: number): Promise<void>
}

/**
 * Spawns `command` with a raised descriptor limit. `exec` keeps the pid, so the pid we read is the
 * program's own (what /proc/<pid>/status is read for). Output is always drained: a broker logging to
 * a full pipe would block its event loop and skew every figure.
 */
export function spawnLimited (command: string, args: readonly string[], options: SpawnOptions & { ipc?: boolean, niceness?: number } = {}): Spawned {
  const { ipc = false, niceness = 0, ...rest } = options
  // `nice` before exec, so every thread the program starts inherits it (on Linux a nice value is per thread).
  const run = niceness === 0 ? 'exec "$@"' : `exec nice -n ${niceness} "$@"`
  const child = spawn('/bin/sh', ['-c', `ulimit -n ${fdHardLimit()} && ${run}`, 'sh', command, ...args], {
    ...rest,
    stdio: ipc ? ['ignore', 'pipe', 'pipe', 'ipc'] : ['ignore', 'pipe', 'pipe']
  })
  let output = ''
  const keep = (chunk: Buffer): void => {
    output = (output + chunk.toString()).slice(-65_536)
  }
  child.stdout?.on('data', keep)
  child.stderr?.on('data', keep)
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  if (child.pid === undefined) throw new Error(`could not start ${command}`)
  const pid = child.pid
  live.add(child)
  child.once('exit', () => live.delete(child))
  return {
    child,
    pid,
    output: () => output,
    exited,
    async stop (graceMs = 5000) {
      if (child.exitCode !== null || child.signalCode !== null) return
      child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs)
      await exited
      clearTimeout(timer)
    }
  }
}

/** Resident set size of a process, in bytes (VmRSS of /proc/<pid>/status). */
export function rssBytes (pid: number): number {
  const match = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  if (match === null) throw new Error(`no VmRSS for pid ${pid}`)
  return Number(match[1]) * 1024
}

/**
 * User + system CPU time of a process so far, in milliseconds (fields 14 and 15 of /proc/<pid>/stat);
 * with `mainThread`, of its main thread only (a Node process's JavaScript, without libuv's and V8's
 * helper threads).
 */
export function cpuMs (pid: number, mainThread = false): number {
  const { user, system } = statCpuMs(readFileSync(mainThread ? `/proc/${pid}/task/${pid}/stat` : `/proc/${pid}/stat`, 'utf8'))
  return user + system
}

/** CPU time of a group of processes together, ms; one that ended since the pids were listed counts 0. */
export function cpuMsOf (pids: readonly number[]): number {
  let total = 0
  for (const pid of pids) {
    try {
      total += cpuMs(pid)
    } catch { /* gone: its time left with it */ }
  }
  return total
}

/** A process and its children (one level: PostgreSQL's postmaster and its backends). */
export function withChildren (pid: number): number[] {
  const children = readdirSync('/proc').filter((name) => /^\d+$/.test(name)).filter((name) => {
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8')
      return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid
    } catch {
      return false
    }
  })
  return [pid, ...children.map(Number)]
}

/** Busy and total CPU time of the whole machine so far, in clock ticks (first line of /proc/stat). */
export function machineTicks (): { busy: number, total: number } {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number)
  const total = fields.reduce((sum, n) => sum + n, 0)
  // idle and iowait are fields 4 and 5 of the cpu line.
  return { busy: total - (fields[3] ?? 0) - (fields[4] ?? 0), total }
}

/** A loopback port free right now (for programs that cannot be told to pick one and report it). */
export function freePort (): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      server.close(() => typeof address === 'object' && address !== null ? resolve(address.port) : reject(new Error('no port')))
    })
  })
}

/** Resolves once something accepts TCP connections on the port, or rejects after `timeoutMs`. */
export async function waitForPort (port: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1')
      socket.once('connect', () => { socket.destroy(); resolve(true) })
      socket.once('error', () => resolve(false))
    })
    if (open) return
    if (Date.now() > deadline) throw new Error(`nothing listens on 127.0.0.1:${port} after ${timeoutMs} ms`)
    await sleep(100)
  }
}

export function sleep (ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

/** Resolves with the first line of `stream` output for which `parse` returns a value. */
export function waitForLine<T> (spawned: Spawned, parse: (line: string) => T | undefined, timeoutMs = 20_000): Promise<T> {
  return new Promise((resolve, reject) => {
    let pending = ''
    const onData = (chunk: Buffer): void => {
      pending += chunk.toString()
      const lines = pending.split('\n')
      pending = lines.pop() ?? ''
      for (const line of lines) {
        const value = parse(line)
        if (value === undefined) continue
        finish()
        resolve(value)
        return
      }
    }
    const timer = setTimeout(() => { finish(); reject(new Error(`no ready line after ${timeoutMs} ms: ${spawned.output()}`)) }, timeoutMs)
    const finish = (): void => {
      clearTimeout(timer)
      spawned.child.stdout?.off('data', onData)
    }
    spawned.child.stdout?.on('data', onData)
    spawned.exited.then((code) => { finish(); reject(new Error(`exited with ${code} before ready: ${spawned.output()}`)) }, reject)
  })
}
