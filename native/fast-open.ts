import { existsSync } from 'node:fs'
import { createRequire } from 'node:module'
import { getSystemErrorName } from 'node:util'

/** native/fast-open.c, as its functions return: a value ≥ 0, or a negative errno. */
interface Binding {
  connect (host: string, port: number): number
  state (fd: number): number
  listen (fd: number, queue: number): number
}

/** TCP_INFO's tcpi_state of a connection through its handshake. */
const TCP_ESTABLISHED = 1

/** TCP Fast Open (RFC 7413) where Node has no way to ask for it: Linux, and the build compiled the helper. */
export interface FastOpen {
  /**
   * A non-blocking TCP socket to `host` (an IPv4 address) whose first write leaves in the SYN,
   * when the kernel holds a cookie from an earlier connection to it (otherwise the handshake asks
   * for one). Throws a system error (code ECONNREFUSED, ENETUNREACH, …) as net.connect reports it.
   */
  connect (host: string, port: number): number
  /** True once the socket's handshake is done; throws when the socket is gone. */
  established (fd: number): boolean
  /** Lets a listening socket take data in SYNs, `queue` such connections pending at most. */
  listen (fd: number, queue: number): void
}

function systemError (errno: number, call: string): Error {
  const code = getSystemErrorName(errno)
  return Object.assign(new Error(`${call} ${code}`), { code, errno, syscall: call })
}

/** The compiled helper: next to this file in dist/, or in dist/native/ when running from source. */
function loadBinding (): Binding | undefined {
  for (const candidate of ['./fast-open.node', '../dist/native/fast-open.node']) {
    const url = new URL(candidate, import.meta.url)
    if (process.platform === 'linux' && existsSync(url)) return createRequire(import.meta.url)(url.pathname) as Binding
  }
  return undefined
}

let loaded: FastOpen | null | undefined

/** TCP Fast Open, or undefined where it is not built (scripts/build-native.mjs says why at build). */
export function fastOpen (): FastOpen | undefined {
  if (loaded === undefined) {
    const binding = loadBinding()
    loaded = binding === undefined
      ? null
      : {
          connect (host, port) {
            const fd = binding.connect(host, port)
            if (fd < 0) throw systemError(fd, 'connect')
            return fd
          },
          established (fd) {
            const state = binding.state(fd)
            if (state < 0) throw systemError(state, 'getsockopt')
            return state === TCP_ESTABLISHED
          },
          listen (fd, queue) {
            const result = binding.listen(fd, queue)
            if (result < 0) throw systemError(result, 'setsockopt')
          }
        }
  }
  return loaded ?? undefined
}
