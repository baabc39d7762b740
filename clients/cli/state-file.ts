import { mkdir, readFile, rename, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { UsageError } from './errors.js'

/** Where `recv` keeps the cursor of a user's device between runs. */
export interface CursorFile {
  readonly path: string
  load (): Promise<number>
  save (cursor: number): Promise<void>
}

/**
 * Where the CLI keeps what it remembers between runs (cursors, its device ids): with a development
 * token minted from a data directory, next to that broker's store (`<dataDir>/clients`: a fresh
 * data directory starts afresh); with a real token, `~/.lowband/state`.
 */
export function stateDir (options: { dataDir?: string | undefined, homeDir: string }): string {
  return options.dataDir !== undefined ? join(options.dataDir, 'clients') : join(options.homeDir, '.lowband', 'state')
}

/** `--state FILE` if given, else `<state dir>/<user>-<device>.json`. */
export function cursorFilePath (options: { state?: string | undefined, dataDir?: string | undefined, homeDir: string, userId: string, deviceId: string }): string {
  return options.state ?? join(stateDir(options), `${options.userId}-${options.deviceId}.json`)
}

export function cursorFile (path: string): CursorFile {
  return {
    path,
    async load () {
      let text: string
      try {
        text = await readFile(path, 'utf8')
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 0
        throw error
      }
      const cursor: unknown = (JSON.parse(text) as { cursor?: unknown }).cursor
      if (typeof cursor !== 'number' || !Number.isSafeInteger(cursor) || cursor < 0) throw new UsageError(`state file ${path} holds no valid cursor`)
      return cursor
    },
    async save (cursor) {
      await mkdir(dirname(path), { recursive: true })
      // Write then rename: a crash mid-write leaves the old cursor, never half a file.
      const temporary = `${path}.${process.pid}.tmp`
      await writeFile(temporary, JSON.stringify({ cursor }) + '\n')
      await rename(temporary, path)
    }
  }
}
