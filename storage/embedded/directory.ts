import type { ClassicLevel } from 'classic-level'
import type { Directory } from '../contracts.js'
import type { Committer } from './committer.js'
import { keys } from './keys.js'
import { encodeRecord } from './record-codec.js'

/** Users in the embedded store; known users are cached so a reconnect costs no write. */
export class EmbeddedDirectory implements Directory {
  readonly #db: ClassicLevel<string, Uint8Array>
  readonly #committer: Committer
  readonly #known = new Set<string>()

  constructor (db: ClassicLevel<string, Uint8Array>, committer: Committer) {
    this.#db = db
    this.#committer = committer
  }

  async registerUser (userId: string): Promise<void> {
    if (await this.hasUser(userId)) return
    await this.#committer.write([{ type: 'put', key: keys.user(userId), value: encodeRecord({ created: Date.now() }) }])
    this.#known.add(userId)
  }

  async hasUser (userId: string): Promise<boolean> {
    if (this.#known.has(userId)) return true
    const found = await this.#db.get(keys.user(userId)) !== undefined
    if (found) this.#known.add(userId)
    return found
  }
}
