import { Command } from 'commander'
import { PassThrough } from 'node:stream'
import { registerClientCommands, type CliIo } from '../../../clients/cli/index.js'

/** One in-process run of a client command: what it printed, and how it exited. */
export interface CliRun {
  /** Resolves when the command exits. */
  readonly exited: Promise<{ code: number, stdout: string, stderr: string }>
  /** Output so far. */
  stdout (): string
  /** Resolves once stdout contains `text` (no polling: checked on every write). */
  printed (text: string): Promise<void>
  /** Ctrl-C. */
  interrupt (): void
  readonly stdin: PassThrough
}

export function runCli (args: string[], env: Record<string, string | undefined>, homeDir = '/nonexistent'): CliRun {
  let out = ''
  let err = ''
  const waiting: Array<{ text: string, resolve: () => void }> = []
  const interrupts = new Set<() => void>()
  const stdin = new PassThrough()
  const stdout = new PassThrough()
  const append = (text: string): void => {
    out += text
    for (const w of [...waiting]) if (out.includes(w.text)) { waiting.splice(waiting.indexOf(w), 1); w.resolve() }
  }
  stdout.on('data', (chunk: Buffer) => append(chunk.toString()))
  let exit: (code: number) => void = () => {}
  const exitCode = new Promise<number>((resolve) => { exit = resolve })
  const io: CliIo = {
    env,
    homeDir,
    stdin,
    stdout,
    writeOut: async (text) => { stdout.write(text) },
    writeErr: async (text) => { err += text },
    exit,
    onInterrupt (handler) {
      interrupts.add(handler)
      return () => interrupts.delete(handler)
    }
  }
  const program = new Command('lowband').exitOverride()
  registerClientCommands(program, io)
  // A commander usage error throws after io.exit (see exitOverride): the exit code says it all.
  program.parseAsync(['node', 'lowband', ...args]).catch(() => {})
  return {
    exited: exitCode.then((code) => ({ code, stdout: out, stderr: err })),
    stdout: () => out,
    printed: (text) => out.includes(text) ? Promise.resolve() : new Promise((resolve) => waiting.push({ text, resolve })),
    interrupt: () => { for (const handler of interrupts) handler() },
    stdin
  }
}
