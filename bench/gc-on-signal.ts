/**
 * Loaded into a broker process with `--expose-gc --import` so the bench can ask for a full garbage
 * collection (SIGUSR2) before reading its RSS, without changing the broker's code. After collecting
 * it reports process.memoryUsage() on stderr, so RSS can be split into V8 heap and the rest.
 * SIGUSR1 is Node's inspector signal, hence USR2.
 */
const collect = (globalThis as { gc?: () => void }).gc
if (collect !== undefined) {
  process.on('SIGUSR2', () => {
    collect()
    process.stderr.write(`${JSON.stringify({ benchMemory: process.memoryUsage() })}\n`)
  })
}
