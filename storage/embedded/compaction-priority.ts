import { readdirSync } from 'node:fs'
import { setPriority } from 'node:os'
import type { ClassicLevel } from 'classic-level'

/**
 * The nice value LevelDB's compaction thread runs at. Compactions rewrite every table the
 * flushed memtable overlaps — all of level 2 each time, since every flush holds keys from all over
 * the keyspace (inboxes of every user, random dedup keys) — so each one is a burst of 0.4–1.8 s of
 * a core that grows with the store. On two cores at 2500 msg/s the broker's main thread needs
 * ~0.8 of one; in the seconds of a compaction it got 426 ms/s on average against 558 in the
 * others, and those were the seconds whose messages set the p99 (docs/BENCH.md, "Issue 18: the
 * tail at half load, attributed"). 10 is chosen from the kernel's weights, not by an A/B (the
 * machine was too busy to show one): a contending nice-0 thread gets ~90 % of a shared core
 * (1024 : 110), and compaction still runs whenever a core has time to spare. A starved thread
 * costs writes nothing until the memtable it has to flush is full again (~22 s at that rate) or
 * level 0 holds 8 tables, where LevelDB itself slows writes down.
 */
export const COMPACTION_NICE = 10

/** The threads of this process, by id; empty where /proc is not there to read. */
function threadIds (): Set<string> {
  try {
    return new Set(readdirSync('/proc/self/task'))
  } catch {
    return new Set()
  }
}

/**
 * Lowers the priority of LevelDB's background (compaction) thread, so that compactions take the
 * time the broker's main thread leaves over instead of a core it needs (COMPACTION_NICE). LevelDB
 * has one such thread per process, started by the first compaction it schedules: this schedules
 * one (a compaction of an empty key range first switches the memtable, which starts the thread;
 * called before anything is written, the flush writes no table) and lowers the priority of the
 * one thread that appeared. Returns that thread's id, or undefined where it cannot tell which
 * thread it is (no /proc; the thread was already running, started by an
 * earlier store in this process — which lowered it then). Linux applies a nice value set by thread
 * id to that thread alone.
 */
export async function lowerCompactionPriority (db: ClassicLevel<string, Uint8Array>): Promise<number | undefined> {
  const before = threadIds()
  if (before.size === 0) return undefined
  // The range holds no keys: LevelDB first switches the memtable — empty when the store has just
  // been opened, so no table is written — and schedules its flush, which starts the thread; then
  // finds nothing in the range to compact.
  await db.compactRange('\u0000lowband-no-such-key', '\u0000lowband-no-such-key~')
  const started = [...threadIds()].filter((id) => !before.has(id))
  if (started.length !== 1) return undefined
  const id = Number(started[0])
  try {
    setPriority(id, COMPACTION_NICE)
  } catch {
    return undefined
  }
  return id
}
