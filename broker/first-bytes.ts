import type { Socket } from 'node:net'

/**
 * Calls `arrived` with everything read from a socket once its first bytes arrive, and reads no
 * more: what comes after stays in the kernel, for the process the socket is sent to (the accept
 * process, broker/accept-main.ts). Node reads on a new socket at once, so a client that wrote
 * CONNECT and more may have several chunks buffered by the first 'data', and they go with the
 * first; `pause()` alone would go on reading into this process's buffer while the socket waits its
 * turn to be sent (one descriptor at a time, each after the receiver's acknowledgement), and that
 * buffer stays behind when the descriptor moves.
 */
export function onFirstBytes (socket: Socket, arrived: (head: Buffer) => void): void {
  socket.once('data', (first: Buffer) => {
    socket.pause()
    const chunks = [first]
    for (let chunk = socket.read() as Buffer | null; chunk !== null; chunk = socket.read() as Buffer | null) chunks.push(chunk)
    // After the reads above, which would start reading again on a stopped descriptor.
    const handle = (socket as unknown as { _handle: { reading: boolean, readStop (): number } | null })._handle
    if (handle !== null) {
      handle.reading = false
      handle.readStop()
    }
    arrived(chunks.length === 1 ? first : Buffer.concat(chunks))
  })
}
