import { Option, type Command } from 'commander'
import { showDefault } from '../../bin/usage.js'
import { addConnectionOptions, createClient, resolveConnection, stateOption, type ConnectionFlags } from './connection-options.js'
import { UsageError } from './errors.js'
import { sendResultLine } from './format.js'
import type { CliIo } from './io.js'
import { readMediaFile } from './media-files.js'
import { runCommand } from './run.js'
import { deviceStateFile, e2eOptions, stateFilePath } from './state-file.js'

interface SendFlags extends ConnectionFlags {
  to?: string
  group?: string
  file?: string
  mime?: string
  json?: boolean
  timeout: string
  state?: string
}

export function registerSend (program: Command, io: CliIo): Command {
  const command = program.command('send')
    .description('send a text message, or a file (photo, voice note, document); prints its id once the broker has stored it')
    .argument('[text...]', 'the message (words are joined with spaces)')
    .option('--to <user>', 'recipient user id')
    .option('--group <group>', 'or: a group you are a member of')
    .option('--file <path>', 'send this file instead of text: uploaded to object storage, then a media message')
    .addOption(showDefault(new Option('--mime <type>', 'the file\'s type'), 'from its extension, else application/octet-stream'))
    .option('--json', 'print {"id","seq","cseq","ts"} as JSON instead of the id')
    .option('--timeout <seconds>', 'give up when not stored within this time', '30')
    .addOption(stateOption())
  return addConnectionOptions(command).action(runCommand(io, command, async (words: string[], flags: SendFlags) => {
    const to = nonEmpty(flags.to)
    const group = nonEmpty(flags.group)
    if ((to === undefined) === (group === undefined)) throw new UsageError(to === undefined ? '--to or --group is required' : 'give --to or --group, not both')
    const text = words.join(' ')
    if (flags.file !== undefined && text.trim() !== '') throw new UsageError('give the text or --file, not both')
    if (flags.file === undefined && text.trim() === '') throw new UsageError('nothing to send: give the text as arguments')
    const timeoutMs = seconds('--timeout', flags.timeout) * 1000
    const file = flags.file === undefined ? undefined : await readMediaFile(flags.file, nonEmpty(flags.mime))
    const connection = await resolveConnection(flags, io, 'send')
    // The same state file as `recv` of this device: one set of keys per device.
    const state = deviceStateFile(stateFilePath({ state: flags.state, dataDir: connection.dataDir, homeDir: io.homeDir, userId: connection.userId, deviceId: connection.deviceId }))
    const saved = await state.load()
    const client = createClient(connection, { sendOnly: true, e2e: e2eOptions(state, saved.keys) })
    try {
      await client.connect()
      const sending = file !== undefined
        ? client.sendMedia(group === undefined ? { user: to! } : { group }, file.bytes, { mime: file.mime, name: file.name })
        : group === undefined ? client.send(to!, text) : client.sendToGroup(group, text)
      const result = await withTimeout(sending, timeoutMs, `not stored within ${flags.timeout} s`)
      await client.keysSaved()
      await io.writeOut(sendResultLine(result, flags.json === true))
    } finally {
      await client.close()
    }
  }))
}

function nonEmpty (value: string | undefined): string | undefined {
  return value === '' ? undefined : value
}

export function seconds (flag: string, value: string): number {
  const parsed = Number(value)
  if (value.trim() === '' || !Number.isFinite(parsed) || parsed < 0) throw new UsageError(`invalid ${flag} ${JSON.stringify(value)}: a number of seconds`)
  return parsed
}

async function withTimeout<T> (work: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const expired = new Promise<never>((_resolve, reject) => { timer = setTimeout(() => reject(new Error(message)), ms) })
  try {
    return await Promise.race([work, expired])
  } finally {
    clearTimeout(timer)
  }
}
