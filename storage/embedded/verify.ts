import type { ClassicLevel } from 'classic-level'
import type { InboxSlot } from './core.js'
import { keys, seqOfKey } from './keys.js'
import { decodeRecord } from './record-codec.js'

/** Listed individually up to this many of each kind; counted beyond. */
const LISTED = 20

export interface Hole { owner: string, from: number, to: number }

export interface StoreReport {
  users: number
  messages: number
  inboxEntries: number
  groups: number
  /** Inbox and conversation entries that name a message whose record is gone ("inbox bob 5"). */
  orphanedEntries: { count: number, first: string[] }
  /** Runs of missing sequence numbers: in an inbox (owner: user) or a conversation (owner: conversation). */
  inboxGaps: { count: number, first: Hole[] }
  conversationGaps: { count: number, first: Hole[] }
  /** Keys whose value does not decode, or where reading stopped. */
  unreadable: { count: number, first: string[] }
}

/**
 * Reads every entry of the store once, in key order, and reports what it holds and the holes an
 * interrupted or damaged history leaves: inbox and conversation sequences must run 1, 2, 3, … and
 * every slot must name a stored message. What was lost from the end of a sequence leaves no hole
 * and cannot be seen here.
 */
export async function verifyStore (db: ClassicLevel<string, Uint8Array>): Promise<StoreReport> {
  const report: StoreReport = {
    users: 0, messages: 0, inboxEntries: 0, groups: 0,
    orphanedEntries: { count: 0, first: [] }, inboxGaps: { count: 0, first: [] }, conversationGaps: { count: 0, first: [] }, unreadable: { count: 0, first: [] }
  }
  const note = <T>(list: { count: number, first: T[] }, item: T): void => {
    list.count++
    if (list.first.length < LISTED) list.first.push(item)
  }
  const sequence = { owner: '', last: 0 }
  const follow = (gaps: StoreReport['inboxGaps'], owner: string, seq: number): void => {
    if (owner !== sequence.owner) Object.assign(sequence, { owner, last: 0 })
    if (seq > sequence.last + 1) note(gaps, { owner, from: sequence.last + 1, to: seq - 1 })
    sequence.last = seq
  }
  const hasMessage = (id: string): boolean => db.getSync(keys.message(id)) !== undefined
  let key = ''
  try {
    for await (const [k, value] of db.iterator()) {
      key = k
      const [prefix, owner] = k.split('!', 2) as [string, string]
      try {
        switch (prefix) {
          case 'u': report.users++; break
          case 'g': report.groups++; break
          case 'm': decodeRecord(value); report.messages++; break
          case 'i': {
            report.inboxEntries++
            follow(report.inboxGaps, owner, seqOfKey(k))
            const id = decodeRecord<InboxSlot>(value).m
            if (id !== undefined && !hasMessage(id)) note(report.orphanedEntries, `inbox ${owner} ${seqOfKey(k)}`)
            break
          }
          case 'c':
            follow(report.conversationGaps, owner, seqOfKey(k))
            if (!hasMessage(Buffer.from(value).toString())) note(report.orphanedEntries, `conversation ${owner} ${seqOfKey(k)}`)
            break
        }
      } catch {
        note(report.unreadable, k)
      }
    }
  } catch (error) {
    note(report.unreadable, `reading stopped after ${key === '' ? 'the start' : key}: ${error instanceof Error ? error.message : String(error)}`)
  }
  return report
}
