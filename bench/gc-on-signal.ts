import { getHeapSpaceStatistics } from 'node:v8'

/**
 * Loaded into a broker process with `--expose-gc --import` so the bench can ask for a full garbage
 * collection (SIGUSR2) before reading its RSS, without changing the broker's code. After collecting
 * it reports process.memoryUsage() on stderr, so RSS can be split into V8 heap and the rest, and
 * each V8 heap space's committed and used bytes, so committed-but-unused pages show by space (the
 * young generation's semispaces vs old space left part-empty).
 * SIGUSR1 is Node's inspector signal, hence USR2.
 */
const collect = (globalThis as { gc?: () => void }).gc
if (collect !== undefined) {
  process.on('SIGUSR2', () => {
    collect()
    const heapSpaces = Object.fromEntries(getHeapSpaceStatistics().map((s) => [s.space_name, { committed: s.space_size, used: s.space_used_size }]))
    process.stderr.write(`${JSON.stringify({ benchMemory: process.memoryUsage(), heapSpaces })}\n`)
  })
}
