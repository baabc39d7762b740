import type { Readable, Writable } from 'node:stream'

/**
 * Newline-delimited JSON over a pipe: how the runner and the phone process
 * talk across the namespace boundary (a process lives in one network
 * namespace, so the two cannot share memory or sockets of the other side).
 */
export function readJsonLines<T>(input: Readable, onMessage: (message: T) => void, onBadLine: (line: string) => void): void {
  let buffered = ''
  input.setEncoding('utf8')
  input.on('data', (chunk: string) => {
    buffered += chunk
    let newline = buffered.indexOf('\n')
    while (newline >= 0) {
      const line = buffered.slice(0, newline).trim()
      buffered = buffered.slice(newline + 1)
      if (line !== '') {
        let parsed: unknown
        try {
          parsed = JSON.parse(line)
        } catch {
          onBadLine(line)
          parsed = undefined
        }
        if (parsed !== undefined) onMessage(parsed as T)
      }
      newline = buffered.indexOf('\n')
    }
  })
}

export function writeJsonLine<T>(output: Writable, message: T): void {
  output.write(`${JSON.stringify(message)}\n`)
}
