import type { Command } from 'commander'
import type { ChatMessage, LowbandClient } from '../sdk/index.js'
import { addConnectionOptions, createClient, resolveConnection, stateOption, type ConnectionFlags } from './connection-options.js'
import { describeError, UsageError } from './errors.js'
import { messageLine } from './format.js'
import type { CliIo } from './io.js'
import { saveMedia } from './media-files.js'
import { runCommand } from './run.js'
import { seconds } from './send.js'
import { deviceStateFile, e2eOptions, stateFilePath } from './state-file.js'

interface RecvFlags extends ConnectionFlags {
  count?: string
  timeout?: string
  state?: string
  download?: string
}

export function registerRecv (program: Command, io: CliIo): Command {
  const command = program.command('recv')
    .description('print messages as JSON lines, from where the last run stopped; runs until Ctrl-C unless --count or --timeout')
    .option('--count <n>', 'exit after printing n messages')
    .option('--timeout <seconds>', 'exit once caught up and this long after starting (0: print what was missed, then exit)')
    .addOption(stateOption())
    .option('--download <dir>', 'save the blob of each media message in this directory (its path goes in the line as "file")')
  return addConnectionOptions(command).action(runCommand(io, command, async (flags: RecvFlags) => {
    const count = flags.count === undefined ? undefined : positiveInteger('--count', flags.count)
    const timeoutMs = flags.timeout === undefined ? undefined : seconds('--timeout', flags.timeout) * 1000
    const connection = await resolveConnection(flags, io, 'recv')
    const state = deviceStateFile(stateFilePath({ state: flags.state, dataDir: connection.dataDir, homeDir: io.homeDir, userId: connection.userId, deviceId: connection.deviceId }))
    const saved = await state.load()
    const client = createClient(connection, { cursor: saved.cursor, e2e: e2eOptions(state, saved.keys) })

    // Printing and saving run in one queue, in inbox order: the cursor of a message is saved only
    // after its line was written, so a crash can print a message twice but never skip one.
    let queue = Promise.resolve()
    let failed: unknown
    const enqueue = (step: () => Promise<void>): void => {
      queue = queue.then(step).catch((error: unknown) => {
        failed ??= error
        finish()
      })
    }
    // Once finishing, nothing new is queued; what is queued is still printed and saved.
    let stopped = false
    let finish: () => void = () => {}
    const finished = new Promise<void>((resolve) => {
      finish = () => {
        stopped = true
        resolve()
      }
    })
    // With --count, what comes after the last message to print is left for the next run.
    let accepted = 0
    let lastSeq: number | undefined
    client.onMessage((message: ChatMessage) => {
      if (stopped || lastSeq !== undefined) return
      if (++accepted === count) lastSeq = message.seq
      enqueue(async () => {
        await io.writeOut(messageLine(message, flags.download === undefined || message.media === undefined ? {} : await download(client, flags.download, message)))
        if (message.seq === lastSeq) finish()
      })
    })
    client.onCursor((cursor) => {
      if (!stopped && (lastSeq === undefined || cursor <= lastSeq)) enqueue(() => state.saveCursor(cursor))
    })
    client.onStatus((status) => {
      if (status.type !== 'closed' || status.error === undefined) return
      failed ??= status.error
      finish()
    })
    const stopListening = io.onInterrupt(finish)

    try {
      await client.connect()
      if (timeoutMs !== undefined) {
        const deadline = delay(timeoutMs)
        void Promise.all([client.synced(), deadline.done]).then(finish, finish)
        void finished.then(deadline.cancel)
      }
      await finished
      await queue
      await client.keysSaved()
      if (failed !== undefined) throw failed
    } finally {
      stopListening()
      await client.close()
    }
  }))
}

/** Saves a media message's blob; a failed download is reported on its line, not fatal to the others. */
async function download (client: LowbandClient, dir: string, message: ChatMessage): Promise<Record<string, unknown>> {
  try {
    return { file: await saveMedia(dir, message, await client.downloadMedia(message)) }
  } catch (error) {
    return { downloadError: describeError(error).line.replace(/^lowband: /, '') }
  }
}

function positiveInteger (flag: string, value: string): number {
  const parsed = Number(value)
  if (!Number.isSafeInteger(parsed) || parsed < 1) throw new UsageError(`invalid ${flag} ${JSON.stringify(value)}: a whole number of at least 1`)
  return parsed
}

function delay (ms: number): { done: Promise<void>, cancel: () => void } {
  let timer: NodeJS.Timeout | undefined
  const done = new Promise<void>((resolve) => { timer = setTimeout(resolve, ms) })
  return { done, cancel: () => clearTimeout(timer) }
}
