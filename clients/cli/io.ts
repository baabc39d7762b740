import { homedir } from 'node:os'

/**
 * Everything the client commands touch outside themselves, passed in so tests can run them
 * in-process: the environment, the standard streams, the exit, and Ctrl-C.
 */
export interface CliIo {
  readonly env: Readonly<Record<string, string | undefined>>
  readonly homeDir: string
  readonly stdin: NodeJS.ReadableStream
  readonly stdout: NodeJS.WritableStream
  /** Resolves once the text is handed to the stream (so a cursor is saved only after its line). */
  writeOut (text: string): Promise<void>
  writeErr (text: string): Promise<void>
  exit (code: number): void
  /** Calls `handler` on SIGINT/SIGTERM; returns the function that stops listening. */
  onInterrupt (handler: () => void): () => void
}

export function processIo (): CliIo {
  const write = (stream: NodeJS.WritableStream, text: string): Promise<void> =>
    new Promise((resolve, reject) => stream.write(text, (error) => error ? reject(error) : resolve()))
  return {
    env: process.env,
    homeDir: homedir(),
    stdin: process.stdin,
    stdout: process.stdout,
    writeOut: (text) => write(process.stdout, text),
    writeErr: (text) => write(process.stderr, text),
    exit: (code) => process.exit(code),
    onInterrupt (handler) {
      process.on('SIGINT', handler)
      process.on('SIGTERM', handler)
      return () => {
        process.off('SIGINT', handler)
        process.off('SIGTERM', handler)
      }
    }
  }
}
