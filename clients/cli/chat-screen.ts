import { createInterface, emitKeypressEvents, type Interface } from 'node:readline'
import type { CliIo } from './io.js'

/**
 * The chat's terminal: a prompt to type at, lines printed above it, keystrokes. On a terminal a
 * printed line clears the prompt line and redraws it after; piped, everything is plain lines.
 */
export class ChatScreen {
  readonly lines: Interface
  readonly #io: CliIo
  readonly #terminal: boolean

  constructor (io: CliIo, prompt: string) {
    this.#io = io
    this.#terminal = isTty(io.stdout)
    this.lines = createInterface({ input: io.stdin, output: io.stdout, prompt, terminal: this.#terminal })
  }

  show (text: string): void {
    this.#io.stdout.write(this.#terminal ? `\r\x1b[K${text}\n` : `${text}\n`)
    this.prompt()
  }

  prompt (): void {
    if (this.#terminal) this.lines.prompt(true)
  }

  /**
   * Calls `handler` for each key typed, when the input is a terminal; piped input has no
   * keystrokes, only lines. Enter is left out: it sends the line, which ends the typing.
   */
  onKeystroke (handler: () => void): void {
    if (!isTty(this.#io.stdin)) return
    emitKeypressEvents(this.#io.stdin)
    this.#io.stdin.on('keypress', (_text: string | undefined, key: { name?: string } | undefined) => {
      if (key?.name !== 'return' && key?.name !== 'enter') handler()
    })
  }

  close (): void {
    this.lines.close()
  }
}

function isTty (stream: NodeJS.ReadableStream | NodeJS.WritableStream): boolean {
  return (stream as { isTTY?: boolean }).isTTY === true
}
