import type { AppendResult, GroupAppendResult, NewDirectMessage, StoredMessage } from './contracts.js'
import { dedupKey } from './message-id.js'

/** One append as a store that several brokers share returns it: every holder's inbox seq. */
export interface HeldMessage { message: StoredMessage, seqs: Record<string, number>, duplicate: boolean }

/**
 * The append side of the stores several brokers share (PostgreSQL, Cassandra): a resend that
 * arrives while its first send is still being written shares that write and is answered as its
 * duplicate, instead of racing it into the database's dedup check.
 */
export class SharedAppends {
  readonly #inFlight = new Map<string, Promise<HeldMessage>>()
  readonly #write: (draft: NewDirectMessage, holders: string[], group: boolean, key: string) => Promise<HeldMessage>

  /** `write` stores one message for `holders` (deduplicated by `key` in the database). */
  constructor (write: (draft: NewDirectMessage, holders: string[], group: boolean, key: string) => Promise<HeldMessage>) {
    this.#write = write
  }

  async direct (draft: NewDirectMessage): Promise<AppendResult> {
    const stored = await this.#append(draft, [draft.from, draft.to], false)
    return { message: stored.message, senderSeq: stored.seqs[draft.from]!, recipientSeq: stored.seqs[draft.to]!, duplicate: stored.duplicate }
  }

  async group (draft: NewDirectMessage, members: string[]): Promise<GroupAppendResult> {
    const stored = await this.#append(draft, members, true)
    return { message: stored.message, seqs: stored.seqs, duplicate: stored.duplicate }
  }

  #append (draft: NewDirectMessage, holders: string[], group: boolean): Promise<HeldMessage> {
    const key = dedupKey(draft.from, draft.fromDevice, draft.clientMsgId)
    const running = this.#inFlight.get(key)
    if (running !== undefined) return running.then((stored) => ({ ...stored, duplicate: true }))
    const work = this.#write(draft, holders, group, key).finally(() => this.#inFlight.delete(key))
    this.#inFlight.set(key, work)
    return work
  }
}
