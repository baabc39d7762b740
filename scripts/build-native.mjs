// Builds native/fast-open.c into dist/native/fast-open.node (TCP Fast Open: native/fast-open.ts) with
// the system C compiler and Node's own headers. Run by `npm run build`. Optional: without a compiler
// or the headers (Debian: gcc, libnode-dev) it says so and lowband runs without TCP Fast Open.
import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, renameSync } from 'node:fs'
import { dirname, join } from 'node:path'
import process from 'node:process'
import { fileURLToPath, URL } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
const source = join(root, 'native', 'fast-open.c')
const out = join(root, 'dist', 'native', 'fast-open.node')
const headers = [join(dirname(process.execPath), '..', 'include', 'node'), '/usr/include/node'].find((dir) => existsSync(join(dir, 'node_api.h')))

if (process.platform !== 'linux') {
  process.stdout.write('build-native: TCP Fast Open is built on Linux only; skipped\n')
} else if (headers === undefined) {
  process.stdout.write('build-native: no node_api.h (Debian: apt-get install libnode-dev); built without TCP Fast Open\n')
} else {
  mkdirSync(dirname(out), { recursive: true })
  const temporary = `${out}.tmp-${process.pid}`
  try {
    execFileSync('cc', ['-O2', '-Wall', '-Wextra', '-std=gnu11', '-shared', '-fPIC', `-I${headers}`, '-o', temporary, source], { stdio: ['ignore', 'inherit', 'pipe'] })
    renameSync(temporary, out)
  } catch (error) {
    process.stdout.write(`build-native: cannot compile native/fast-open.c (apt-get install gcc); built without TCP Fast Open: ${error.stderr?.toString().trim() || error.message}\n`)
  }
}
