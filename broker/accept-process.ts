import { fork, type ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import type { Server, Socket } from 'node:net'
import { fileURLToPath } from 'node:url'
import type { GateLimits, RefusalReason } from './connection-gate.js'

/** The broker to the accept process. */
export type AcceptCommand =
  /** Accept on the listening socket sent with it. */
  | { type: 'listen', listener: string }
  /** The broker's own connections now, which count against the caps with the accept process's. */
  | { type: 'counts', open: number, pending: number }
  /** Report the counts now (a /metrics scrape waits for them). */
  | { type: 'report' }

/** The accept process to the broker. */
export type AcceptReport =
  /** The socket sent with it has sent `head` (base64), its first bytes, `waitedMs` after its accept. */
  | { type: 'socket', listener: string, head: string, waitedMs: number }
  /** Sockets refused or timed out since the last report, by reason, and those held now. */
  | { type: 'counts', closed: Partial<Record<RefusalReason, number>>, pending: number }
  | { type: 'ready' }

/** What the broker does with what the accept process reports (`AcceptProcess.bind`). */
export interface AcceptHandlers {
  /** A socket that has sent its first bytes (put back in it, unread), `waitedMs` after its accept. */
  arrived (listener: string, socket: Socket, waitedMs: number): void
  /** Sockets the accept process refused or timed out. */
  closed (reason: RefusalReason, count: number): void
  /** Sockets the accept process holds now (accepted, no bytes yet), reported with the refusals. */
  held (pending: number): void
  /** The process is gone without being asked to stop; its listening sockets went with it. */
  lost (code: number | null, signal: NodeJS.Signals | null): void
}

/** How long a stopping accept process has to exit before it is killed, ms. */
const EXIT_GRACE_MS = 2000

/**
 * A child process that accepts the MQTT listeners' connections and holds each socket until its
 * first bytes arrive, then passes it to the broker (its descriptor over the IPC channel, the bytes
 * read with it). A flood of sockets that never speak — the cheapest attack on a broker — is then
 * accepted, timed out and refused in a process of its own: its thousands of sockets a second never
 * reach the broker's heap, where every young-generation collection had to copy them (40–110 ms
 * pauses under the flood, each one a stall of every chat connection; docs/BENCH.md). The broker's
 * own gate still counts and times every socket it is given.
 */
export class AcceptProcess {
  readonly #child: ChildProcess
  #handlers: AcceptHandlers | undefined
  #pending = 0
  #stopping: Promise<void> | undefined
  /** Waiting for the next counts report (`report`). */
  #reported: Array<() => void> = []
  /** The broker's counts are to be sent at the end of this turn. */
  #telling: { open: number, pending: number } | undefined

  private constructor (child: ChildProcess) {
    this.#child = child
  }

  /**
   * Starts the process: before the broker opens its store or anything else, as a child inherits
   * every descriptor not marked close-on-exec, LevelDB's files among them (and the process closes
   * what it inherited besides, for a broker embedded in a process that had files open).
   */
  static async start (limits: GateLimits, entry: URL = defaultEntry()): Promise<AcceptProcess> {
    const child = fork(fileURLToPath(entry), [JSON.stringify(limits)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv: [] })
    const accept = new AcceptProcess(child)
    await new Promise<void>((resolve, reject) => {
      const failed = (code: number | null): void => reject(new Error(`the accept process exited at start (code ${code ?? 'none'})`))
      child.once('exit', failed)
      child.once('error', reject)
      child.on('message', (report: AcceptReport, socket?: Socket) => {
        if (report.type === 'ready') {
          child.removeListener('exit', failed)
          child.removeListener('error', reject)
          resolve()
        } else if (report.type === 'counts') {
          accept.#pending = report.pending
          for (const [reason, count] of Object.entries(report.closed)) accept.#handlers?.closed(reason as RefusalReason, count)
          accept.#handlers?.held(report.pending)
          for (const done of accept.#reported.splice(0)) done()
        } else if (socket !== undefined) { // undefined: it closed while on its way
          socket.unshift(Buffer.from(report.head, 'base64'))
          if (accept.#handlers === undefined) socket.destroy()
          else accept.#handlers.arrived(report.listener, socket, report.waitedMs)
        }
      })
    })
    child.on('error', () => undefined) // a failed send: the socket is closed on the child's side
    child.once('exit', (code, signal) => {
      for (const done of accept.#reported.splice(0)) done()
      if (accept.#stopping === undefined) accept.#handlers?.lost(code, signal)
    })
    return accept
  }

  /** Where what the process reports goes, once the listeners it serves exist. */
  bind (handlers: AcceptHandlers): void {
    this.#handlers = handlers
  }

  /** Sockets the accept process holds now (accepted, no bytes yet). */
  get pending (): number {
    return this.#pending
  }

  /**
   * Hands a listening server's socket to the accept process and closes the broker's copy. A
   * connection the broker accepted meanwhile stays with the broker (the server's own listener).
   */
  async take (listener: string, server: Server): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.#child.send({ type: 'listen', listener } satisfies AcceptCommand, server, (error) => { if (error === null) resolve(); else reject(error) })
    })
    server.close()
  }

  /** The counts as they are now (refusals reported through `closed`, `pending` updated). */
  async report (): Promise<void> {
    if (!this.#child.connected) return
    const reported = new Promise<void>((resolve) => this.#reported.push(resolve))
    if (this.#reported.length === 1) this.#child.send({ type: 'report' } satisfies AcceptCommand)
    await reported
  }

  /** The broker's own connections, sent once at the end of the turn however often they change in it. */
  tell (counts: { open: number, pending: number }): void {
    if (this.#telling === undefined) {
      setImmediate(() => {
        if (this.#child.connected) this.#child.send({ type: 'counts', ...this.#telling! } satisfies AcceptCommand)
        this.#telling = undefined
      })
    }
    this.#telling = counts
  }

  /** Stops accepting: the process exits, and the listening sockets with it (once, however often asked). */
  async close (): Promise<void> {
    this.#stopping ??= new Promise<void>((resolve) => {
      if (this.#child.exitCode !== null || this.#child.signalCode !== null) return resolve()
      const kill = setTimeout(() => this.#child.kill('SIGKILL'), EXIT_GRACE_MS)
      this.#child.once('exit', () => { clearTimeout(kill); resolve() })
      if (this.#child.connected) this.#child.disconnect()
    })
    await this.#stopping
  }
}

/** The compiled script beside this module, or, run from source (the tests), the one in dist/. */
function defaultEntry (): URL {
  const beside = new URL('./accept-main.js', import.meta.url)
  return existsSync(beside) ? beside : new URL('../dist/broker/accept-main.js', import.meta.url)
}
