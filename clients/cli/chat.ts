import type { Command } from 'commander'
import { isValidId } from '../../protocol/ids.js'
import type { ChatMessage, Conversation, LowbandClient, SendResult, Status } from '../sdk/index.js'
import { OwnMessages, presenceLine } from './chat-lines.js'
import { ChatScreen } from './chat-screen.js'
import { addConnectionOptions, createClient, resolveConnection, stateOption, type ConnectionFlags } from './connection-options.js'
import { describeError, UsageError } from './errors.js'
import { chatLine } from './format.js'
import type { CliIo } from './io.js'
import { runCommand } from './run.js'
import { deviceStateFile, e2eOptions, stateFilePath } from './state-file.js'

interface ChatFlags extends ConnectionFlags {
  to?: string
  group?: string
  history: string
  state?: string
}

/**
 * An interactive conversation with a user or in a group: the last messages, then live ones as
 * they come, with ✓ / ✓✓ / read for mine, the contact's presence, and who is typing; each line
 * typed is sent. What is shown counts as read. The cursor is not kept: every start replays the
 * inbox to show the history (encrypted messages from the device state's log of recent plaintexts).
 * `/verify` prints the safety number with the contact; a contact's new identity key is announced.
 */
export function registerChat (program: Command, io: CliIo): Command {
  const command = program.command('chat')
    .description('chat with a user or a group: shows the conversation, sends each line you type (Ctrl-D or /quit to leave)')
    .option('--to <user>', 'the user to chat with')
    .option('--group <group>', 'or: the group to chat in')
    .option('--history <n>', 'how many earlier messages to show', '20')
    .addOption(stateOption())
  return addConnectionOptions(command).action(runCommand(io, command, async (flags: ChatFlags) => {
    const conversation = conversationOf(flags)
    const history = Number(flags.history)
    if (!Number.isSafeInteger(history) || history < 0) throw new UsageError(`invalid --history ${JSON.stringify(flags.history)}: a whole number`)
    const connection = await resolveConnection(flags, io, 'chat')
    const self = connection.userId
    const state = deviceStateFile(stateFilePath({ state: flags.state, dataDir: connection.dataDir, homeDir: io.homeDir, userId: self, deviceId: connection.deviceId }))
    const client = createClient(connection, { e2e: e2eOptions(state, (await state.load()).keys) })
    const screen = new ChatScreen(io, `${self}> `)
    const show = (text: string): void => screen.show(text)
    const here = (c: Conversation): boolean => 'group' in conversation ? 'group' in c && c.group === conversation.group : 'user' in c && c.user === conversation.user

    const own = new OwnMessages()
    const display = (message: ChatMessage): void => {
      if (message.own && message.text !== undefined) own.remember(message.id, message.text)
      show(chatLine(message, self))
    }
    // Until the replay has caught up (and the header is out), keep only the last `history` messages.
    let backlog: ChatMessage[] | undefined = []
    let started = false
    let caughtUp = false
    const flushBacklog = (): void => {
      if (backlog === undefined || !started || !caughtUp) return
      for (const message of backlog) display(message)
      const last = backlog.at(-1)
      backlog = undefined
      if (last !== undefined) client.markRead(conversation, last.cseq)
    }
    client.onIdentityChange((change) => show(`-- ⚠ ${change.user}'s security code changed (device ${change.device}); /verify to compare it again`))
    client.onMessage((message) => {
      // The warning above says it; the system message itself adds nothing on screen.
      if (!here(message.conversation) || message.keyChange !== undefined) return
      if (backlog !== undefined) {
        backlog.push(message)
        if (backlog.length > history) backlog.shift()
        return
      }
      display(message)
      if (!message.own) client.markRead(conversation, message.cseq)
    })
    client.onSynced(() => {
      caughtUp = true
      flushBacklog()
    })
    client.onMessageStatus((change) => {
      const line = here(change.conversation) ? own.changed(change) : undefined
      if (line !== undefined) show(line)
    })
    client.onTyping((change) => { if (change.typing && here(change.conversation)) show(`-- ${change.from} is typing…`) })
    client.onPresence((presence) => show(presenceLine(presence)))
    screen.onKeystroke(() => { if (client.status.type === 'connected') client.typing(conversation) })

    let troubled = false
    let fatal: Error | undefined
    client.onStatus((status) => {
      if (status.type === 'connected' && troubled) show('-- connected again')
      troubled = status.type === 'disconnected' || status.type === 'reconnecting'
      const line = statusLine(status)
      if (line !== undefined) show(line)
      if (status.type === 'closed' && status.error !== undefined) {
        fatal = status.error
        screen.close()
      }
    })
    client.onError((error) => show(`-- ${describeError(error).line}`))

    let closing = false
    let interrupted = false
    const sending = new Set<Promise<unknown>>()
    const done = new Promise<void>((resolve) => screen.lines.on('close', resolve))
    const stopListening = io.onInterrupt(() => {
      interrupted = true
      screen.close()
    })
    screen.lines.on('line', (line) => {
      const text = line.trim()
      if (text === '/quit') return screen.close()
      if (text === '/verify') {
        if (!('user' in conversation)) show('-- /verify compares the security code with one user: use it in a chat with --to')
        else {
          client.safetyNumber(conversation.user).then(
            (number) => show(`-- security code with ${conversation.user}: ${number} (compare it with theirs; the same on both sides means no one is in between)`),
            (error: unknown) => show(`-- cannot verify: ${describeError(error).line}`))
        }
        return screen.prompt()
      }
      if (text !== '') {
        const sent = sendTo(client, conversation, text)
          .then((result) => show(own.sent(result, text)), (error: unknown) => { if (!closing) show(`-- not sent: ${describeError(error).line}`) })
        sending.add(sent)
        void sent.finally(() => sending.delete(sent))
      }
      screen.prompt()
    })

    try {
      await client.connect({ retry: false })
      const where = 'group' in conversation ? `in ${JSON.stringify((await client.groupInfo(conversation.group)).name)} (${conversation.group})` : `with ${conversation.user}`
      show(`-- chatting ${where} as ${self}/${connection.deviceId}; /quit to leave`)
      started = true
      flushBacklog()
      // Watched from here so its state follows the header; the SDK watches again after reconnects.
      if ('user' in conversation) client.watch(conversation.user)
      await done
      if (fatal !== undefined) throw fatal
      // End of input (Ctrl-D, or the end of a pipe) waits for what was typed to be stored; Ctrl-C does not.
      if (!interrupted) await Promise.all(sending)
    } finally {
      closing = true
      stopListening()
      screen.close()
      await client.keysSaved()
      await client.close()
    }
  }))
}

function conversationOf (flags: ChatFlags): Conversation {
  const to = flags.to === '' ? undefined : flags.to
  const group = flags.group === '' ? undefined : flags.group
  if ((to === undefined) === (group === undefined)) throw new UsageError(to === undefined ? '--to or --group is required' : 'give --to or --group, not both')
  const id = (to ?? group)!
  if (!isValidId(id)) throw new UsageError(`invalid ${to === undefined ? '--group' : '--to'} ${JSON.stringify(id)}: 1-64 of A-Z a-z 0-9 _ . @ -`)
  return to === undefined ? { group: id } : { user: id }
}

function sendTo (client: LowbandClient, conversation: Conversation, text: string): Promise<SendResult> {
  return 'group' in conversation ? client.sendToGroup(conversation.group, text) : client.send(conversation.user, text)
}

/** What the user should hear of the connection: trouble. Quiet when all is well. */
function statusLine (status: Status): string | undefined {
  switch (status.type) {
    case 'disconnected': return `-- disconnected${status.error === undefined ? '' : `: ${status.error.message}`}`
    case 'reconnecting': return `-- reconnecting in ${(status.delayMs / 1000).toFixed(1)} s (attempt ${status.attempt}${status.error === undefined ? '' : `; ${status.error.message}`})`
    default: return undefined
  }
}
