import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { ClassicLevel } from 'classic-level'
import type { StorageHealth } from '../contracts.js'
import { RetriableError } from '../retriable.js'
import { inspectStore } from './preflight.js'
import { damagedStore, fileNamedIn, levelCode, levelMessage, StoreOpenError } from './store-errors.js'

type State = 'open' | 'suspect' | 'damaged' | 'closed'

export interface GuardOptions {
  dataDir: string
  /** classic-level's options (tuning); `createIfMissing` is the guard's to decide. */
  level: Record<string, unknown>
  /** Told of every change of health, e.g. to log it. */
  onHealth?: (health: StorageHealth) => void
  /** First and longest wait between two reopen attempts, ms. */
  reopenDelayMs?: { first: number, max: number }
}

/** Reopen attempts back off from 100 ms to 30 s: a full disk may take an operator minutes to clear. */
const REOPEN_DELAY_MS = { first: 100, max: 30_000 }

/**
 * The embedded store's LevelDB and what may be done with it now. After a failed write LevelDB's
 * write-ahead log may end in a partial record, and leveldb 1.20 keeps appending after it: on the
 * next open it skips everything after the break, acknowledged writes included. So a failed write
 * makes the store *suspect*: nothing more is written (every write gets a RetriableError), and the
 * store is closed and reopened in the background, with backoff, until it opens cleanly — by then
 * the log ends at the failed write, which LevelDB drops as never completed. Reopening rather than
 * exiting keeps the process, its connections and readers, and needs no supervisor; /readyz says
 * not ready meanwhile. Damage (a corruption LevelDB reports, or what the checks before every open
 * find) makes the store *damaged*: not reopened, nothing written, until `lowband repair`.
 */
export class StoreGuard {
  readonly db: ClassicLevel<string, Uint8Array>
  readonly #options: GuardOptions
  readonly #location: string
  readonly #reopened: Array<() => void> = []
  #state: State = 'open'
  #reason = ''
  #reopening: Promise<void> | undefined
  #wake: (() => void) | undefined

  private constructor (db: ClassicLevel<string, Uint8Array>, location: string, options: GuardOptions) {
    this.db = db
    this.#location = location
    this.#options = options
  }

  /** Opens `<dataDir>/store`, creating it only where there is no store yet. Throws StoreOpenError. */
  static async open (options: GuardOptions): Promise<StoreGuard> {
    const location = join(options.dataDir, 'store')
    const fresh = await checkedFiles(location, options.dataDir)
    // Created only now, and opened in the same turn: abstract-level opens a new instance by itself
    // a microtask later, with its default createIfMissing, unless open() was called first.
    const db = new ClassicLevel<string, Uint8Array>(location, { ...options.level, keyEncoding: 'utf8', valueEncoding: 'view', createIfMissing: false })
    await openLevel(db, fresh, options.dataDir, location)
    return new StoreGuard(db, location, options)
  }

  /** The LevelDB directory, `<dataDir>/store`. */
  get location (): string {
    return this.#location
  }

  get writable (): boolean {
    return this.#state === 'open'
  }

  health (): StorageHealth {
    return this.#state === 'open' ? { ready: true } : { ready: false, reason: this.#reason }
  }

  /** What a write is refused with while the store is not open. */
  refusal (cause?: unknown): RetriableError {
    return new RetriableError(this.#reason, cause === undefined ? undefined : { cause })
  }

  /** Runs after every successful reopen, before anything is written again: caches forget what they hold. */
  onReopened (listener: () => void): void {
    this.#reopened.push(listener)
  }

  /** A write failed: nothing is acknowledged again until the store has been closed and reopened. */
  writeFailed (error: unknown): void {
    this.#failed(error, 'write')
  }

  /**
   * What a store operation that failed with `error` should throw. LevelDB's damage reports make the
   * store damaged; its I/O errors suspect (a reopen checks its files again); anything failing while
   * the store is not open is retriable.
   */
  classify (error: unknown): unknown {
    if (error instanceof RetriableError) return error
    const code = levelCode(error)
    if (code === 'LEVEL_CORRUPTION') this.#damaged(error)
    else if (code === 'LEVEL_IO_ERROR') this.#failed(error, 'read')
    return this.#state === 'open' ? error : this.refusal(error)
  }

  /**
   * For work done while opening (before the store is handed out): the store is closed and the
   * failure is an open failure, `damaged` when LevelDB reported damage, so that `start` refuses
   * with one line instead of serving a store it cannot read.
   */
  async failedOpen (error: unknown): Promise<StoreOpenError> {
    this.classify(error)
    const kind = this.#state === 'damaged' ? 'damaged' : 'failed'
    const message = this.#state === 'open' ? `cannot open the store in ${this.#options.dataDir}: ${levelMessage(error)}` : this.#reason
    await this.close().catch(() => undefined)
    return new StoreOpenError(kind, message, { cause: error })
  }

  async close (): Promise<void> {
    const reopening = this.#reopening
    this.#state = 'closed'
    this.#reason = `the store in ${this.#options.dataDir} is closed`
    this.#wake?.()
    await reopening
    await this.db.close()
  }

  async #reopen (): Promise<void> {
    const delays = this.#options.reopenDelayMs ?? REOPEN_DELAY_MS
    let delay = delays.first
    while (this.#state === 'suspect') {
      try {
        await this.db.close()
        await openLevel(this.db, await checkedFiles(this.#location, this.#options.dataDir), this.#options.dataDir, this.#location)
        if (this.#state !== 'suspect') return
        for (const listener of this.#reopened) listener()
        this.#set('open', '')
        return
      } catch (error) {
        if (this.#state !== 'suspect') return
        if (error instanceof StoreOpenError && error.kind === 'damaged') return this.#set('damaged', error.message)
        this.#set('suspect', `the store in ${this.#options.dataDir} is suspect; reopening it failed (${error instanceof Error ? error.message : String(error)}), next try in ${delay} ms`)
      }
      await this.#sleep(delay)
      delay = Math.min(delay * 2, delays.max)
    }
  }

  #failed (error: unknown, what: 'write' | 'read'): void {
    if (this.#state !== 'open') return
    if (levelCode(error) === 'LEVEL_CORRUPTION') return this.#damaged(error)
    this.#set('suspect', `the store in ${this.#options.dataDir} is suspect after a failed ${what} (${levelMessage(error)}): reopening it`)
    this.#reopening = this.#reopen()
  }

  #damaged (error: unknown): void {
    if (this.#state === 'damaged' || this.#state === 'closed') return
    const message = levelMessage(error)
    this.#set('damaged', damagedStore(this.#options.dataDir, { file: fileNamedIn(message) ?? 'a table LevelDB does not name', cause: message }).message)
  }

  #set (state: State, reason: string): void {
    this.#state = state
    this.#reason = reason
    this.#options.onHealth?.(this.health())
  }

  #sleep (ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = (): void => {
        clearTimeout(timer)
        this.#wake = undefined
        resolve()
      }
      const timer = setTimeout(wake, ms)
      this.#wake = wake
    })
  }
}

/** Whether the store is fresh (LevelDB may create it); throws for damage LevelDB would skip over. */
async function checkedFiles (location: string, dataDir: string): Promise<boolean> {
  let files: Awaited<ReturnType<typeof inspectStore>>
  try {
    files = await inspectStore(location)
  } catch (error) {
    // The directory or a file cannot be read at all (permissions, not a directory, …).
    throw new StoreOpenError('failed', `cannot open the store in ${dataDir}: ${error instanceof Error ? error.message : String(error)}`, { cause: error })
  }
  if (!files.fresh && files.damage !== undefined) throw damagedStore(dataDir, files.damage)
  return files.fresh
}

async function openLevel (db: ClassicLevel<string, Uint8Array>, fresh: boolean, dataDir: string, location: string): Promise<void> {
  try {
    await db.open({ createIfMissing: fresh })
  } catch (error) {
    throw await openFailure(error, dataDir, location)
  }
}

/** One line for a failed open: who holds it, or which file LevelDB could not use and why. */
async function openFailure (error: unknown, dataDir: string, location: string): Promise<StoreOpenError> {
  const message = levelMessage(error)
  if (levelCode(error) === 'LEVEL_LOCKED') return new StoreOpenError('inUse', `${dataDir} is in use by another process (${message})`, { cause: error })
  const file = fileNamedIn(message) ?? await currentManifest(location)
  if (levelCode(error) === 'LEVEL_CORRUPTION') return damagedStore(dataDir, { file, cause: message }, { cause: error })
  return new StoreOpenError('failed', `cannot open the store in ${dataDir}: ${file}: ${message}`, { cause: error })
}

/** The manifest CURRENT names: what LevelDB was reading when it does not say. */
async function currentManifest (location: string): Promise<string> {
  try {
    const name = (await readFile(join(location, 'CURRENT'), 'utf8')).trim()
    return /^MANIFEST-\d+$/.test(name) ? name : 'CURRENT'
  } catch {
    return 'store'
  }
}
