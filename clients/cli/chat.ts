import type { Command } from 'commander'
import { createInterface } from 'node:readline'
import type { ChatMessage, Status } from '../sdk/index.js'
import { addConnectionOptions, createClient, resolveConnection, type ConnectionFlags } from './connection-options.js'
import { describeError, UsageError } from './errors.js'
import { chatLine } from './format.js'
import type { CliIo } from './io.js'
import { runCommand } from './run.js'

interface ChatFlags extends ConnectionFlags {
  to?: string
  history: string
}

/**
 * An interactive conversation: the last messages with the peer, then live ones as they come; each
 * line typed is sent. The cursor is not kept: every start replays the inbox to show the history.
 */
export function registerChat (program: Command, io: CliIo): Command {
  const command = program.command('chat')
    .description('chat with one user: shows the conversation, sends each line you type (Ctrl-D or /quit to leave)')
    .option('--to <user>', 'the user to chat with')
    .option('--history <n>', 'how many earlier messages to show', '20')
  return addConnectionOptions(command).action(runCommand(io, async (flags: ChatFlags) => {
    const peer = flags.to
    if (peer === undefined || peer === '') throw new UsageError('--to is required')
    const history = Number(flags.history)
    if (!Number.isSafeInteger(history) || history < 0) throw new UsageError(`invalid --history ${JSON.stringify(flags.history)}: a whole number`)
    const connection = await resolveConnection(flags, io)
    const self = connection.userId
    const client = createClient(connection)

    // Prompts and redrawing only on a terminal; piped, the output is plain lines.
    const terminal = isTerminal(io.stdout)
    const lines = createInterface({ input: io.stdin, output: io.stdout, prompt: `${self}> `, terminal })
    const prompt = (): void => { if (terminal) lines.prompt(true) }
    // A line printed while the user types: clear the prompt line, print, redraw the prompt.
    const show = (text: string): void => {
      io.stdout.write(terminal ? `\r\x1b[K${text}\n` : `${text}\n`)
      prompt()
    }

    const inConversation = (m: ChatMessage): boolean => m.group === undefined && (m.from === peer || (m.from === self && m.to === peer))
    // Until the replay has caught up, keep only the last `history` messages of the conversation.
    let backlog: ChatMessage[] | undefined = []
    client.onMessage((message) => {
      if (!inConversation(message)) return
      if (backlog === undefined) return show(chatLine(message, self))
      backlog.push(message)
      if (backlog.length > history) backlog.shift()
    })
    client.onSynced(() => {
      if (backlog === undefined) return
      for (const message of backlog) show(chatLine(message, self))
      backlog = undefined
    })
    let troubled = false
    let fatal: Error | undefined
    client.onStatus((status) => {
      if (status.type === 'connected' && troubled) show('-- connected again')
      troubled = status.type === 'disconnected' || status.type === 'reconnecting'
      const line = statusLine(status)
      if (line !== undefined) show(line)
      if (status.type === 'closed' && status.error !== undefined) {
        fatal = status.error
        lines.close()
      }
    })
    client.onError((error) => show(`-- ${describeError(error).line}`))

    let closing = false
    let interrupted = false
    const sending = new Set<Promise<unknown>>()
    const done = new Promise<void>((resolve) => lines.on('close', resolve))
    const stopListening = io.onInterrupt(() => {
      interrupted = true
      lines.close()
    })
    lines.on('line', (line) => {
      const text = line.trim()
      if (text === '/quit') return lines.close()
      if (text !== '') {
        const sent = client.send(peer, text).catch((error: unknown) => { if (!closing) show(`-- not sent: ${describeError(error).line}`) })
        sending.add(sent)
        void sent.finally(() => sending.delete(sent))
      }
      prompt()
    })

    try {
      await client.connect({ retry: false })
      show(`-- chatting with ${peer} as ${self}/${connection.deviceId}; /quit to leave`)
      await done
      if (fatal !== undefined) throw fatal
      // End of input (Ctrl-D, or the end of a pipe) waits for what was typed to be stored; Ctrl-C does not.
      if (!interrupted) await Promise.all(sending)
    } finally {
      closing = true
      stopListening()
      lines.close()
      await client.close()
    }
  }))
}

/** What the user should hear of the connection: trouble. Quiet when all is well. */
function statusLine (status: Status): string | undefined {
  switch (status.type) {
    case 'disconnected': return `-- disconnected${status.error === undefined ? '' : `: ${status.error.message}`}`
    case 'reconnecting': return `-- reconnecting in ${(status.delayMs / 1000).toFixed(1)} s (attempt ${status.attempt}${status.error === undefined ? '' : `; ${status.error.message}`})`
    default: return undefined
  }
}

function isTerminal (stream: NodeJS.WritableStream): boolean {
  return (stream as { isTTY?: boolean }).isTTY === true
}
