import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import type { EndToEndOptions } from '../sdk/index.js'
import { UsageError } from './errors.js'

/**
 * A device's state between runs: `recv`'s cursor, and the device's end-to-end keys and sessions
 * (base64 of the SDK's CBOR state). The file holds private keys, so it is created owner-only (0600,
 * in a 0700 directory when the CLI makes it) and always written whole: a temporary file, then a
 * rename, so a crash leaves the old state, never half a file.
 */
export interface DeviceStateFile {
  readonly path: string
  /** The saved cursor (0 when none) and keys (undefined for a new device). */
  load (): Promise<{ cursor: number, keys?: Uint8Array }>
  saveCursor (cursor: number): Promise<void>
  saveKeys (keys: Uint8Array): Promise<void>
}

/**
 * `--state FILE` if given, else `<state dir>/<user>-<device>.json` (see stateDir: a fresh data
 * directory starts from a fresh cursor and fresh keys).
 */
export function stateFilePath (options: { state?: string | undefined, dataDir?: string | undefined, homeDir: string, userId: string, deviceId: string }): string {
  return options.state ?? join(stateDir(options), `${options.userId}-${options.deviceId}.json`)
}

/**
 * Where the CLI keeps what it remembers between runs (device state files, its device ids): with a
 * development token minted from a data directory, next to that broker's store (`<dataDir>/clients`);
 * with a real token, `~/.lowband/state`.
 */
export function stateDir (options: { dataDir?: string | undefined, homeDir: string }): string {
  return options.dataDir !== undefined ? join(options.dataDir, 'clients') : join(options.homeDir, '.lowband', 'state')
}

interface Saved { cursor: number, keys?: string }

export function deviceStateFile (path: string): DeviceStateFile {
  let current: Saved = { cursor: 0 }
  let writing = Promise.resolve()
  const write = (next: Saved): Promise<void> => {
    current = next
    const text = JSON.stringify(next) + '\n'
    writing = writing.then(async () => {
      await mkdir(dirname(path), { recursive: true, mode: 0o700 })
      const temporary = `${path}.${process.pid}.tmp`
      await writeFile(temporary, text, { mode: 0o600 })
      // An existing file keeps its mode through the rename of a new one: set it on the new one.
      await chmod(temporary, 0o600)
      await rename(temporary, path)
    })
    return writing
  }
  return {
    path,
    async load () {
      let text: string
      try {
        text = await readFile(path, 'utf8')
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { cursor: 0 }
        throw error
      }
      const saved = JSON.parse(text) as { cursor?: unknown, keys?: unknown }
      const cursor = saved.cursor ?? 0
      if (typeof cursor !== 'number' || !Number.isSafeInteger(cursor) || cursor < 0) throw new UsageError(`state file ${path} holds no valid cursor`)
      if (saved.keys !== undefined && typeof saved.keys !== 'string') throw new UsageError(`state file ${path} holds no valid keys`)
      current = saved.keys === undefined ? { cursor } : { cursor, keys: saved.keys }
      return saved.keys === undefined ? { cursor } : { cursor, keys: new Uint8Array(Buffer.from(saved.keys, 'base64')) }
    },
    saveCursor: (cursor) => write({ ...current, cursor }),
    saveKeys: (keys) => write({ ...current, keys: Buffer.from(keys).toString('base64') })
  }
}

/**
 * The SDK's end-to-end options for a device whose keys live in `file`: messages are encrypted to
 * users with keys, and sent in plaintext to users without any (a broker started with --require-e2e
 * refuses those).
 */
export function e2eOptions (file: DeviceStateFile, keys: Uint8Array | undefined): EndToEndOptions {
  return { ...(keys === undefined ? {} : { state: keys }), save: (state) => file.saveKeys(state), plaintextFallback: true }
}
