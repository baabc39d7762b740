import { basename } from 'node:path'

/**
 * The store cannot be opened: one line naming the data directory, the file and the cause, and what
 * to do. `damaged` when its files are not what LevelDB wrote (the way back is `lowband repair`);
 * `inUse` when another process holds it.
 */
export class StoreOpenError extends Error {
  override name = 'StoreOpenError'
  readonly kind: 'damaged' | 'inUse' | 'failed'

  constructor (kind: StoreOpenError['kind'], message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.kind = kind
  }
}

export interface DamageAt {
  /** A file of the store, by name. */
  file: string
  cause: string
}

export function damagedStore (dataDir: string, damage: DamageAt, options?: { cause?: unknown }): StoreOpenError {
  return new StoreOpenError('damaged', `the store in ${dataDir} is damaged: ${damage.file}: ${damage.cause}; nothing was changed: run \`lowband repair --data-dir ${dataDir}\``, options)
}

/** LevelDB's own message for a failed operation (classic-level keeps it as the cause of "Database failed to open"). */
export function levelMessage (error: unknown): string {
  const cause = (error as { cause?: unknown }).cause
  const inner = cause instanceof Error ? cause : error
  return oneLine(inner instanceof Error ? inner.message : String(inner))
}

export function levelCode (error: unknown): string | undefined {
  const cause = (error as { cause?: { code?: unknown } }).cause
  const code = (error as { code?: unknown }).code
  return typeof cause?.code === 'string' ? cause.code : typeof code === 'string' ? code : undefined
}

/** The store file a LevelDB message names, if it names one (`…/000005.ldb`, `CURRENT`, `MANIFEST-000004`). */
export function fileNamedIn (message: string): string | undefined {
  const match = /(?:[^\s:]*\/)?(\d+\.(?:ldb|sst|log)|MANIFEST-\d+|CURRENT)\b/.exec(message)
  return match === null ? undefined : basename(match[1]!)
}

function oneLine (text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').trim()
}
