import { Option, type Command } from 'commander'
import { showDefault } from '../../bin/usage.js'
import type { ChatMessage } from '../sdk/index.js'
import { addConnectionOptions, createClient, resolveConnection, type ConnectionFlags } from './connection-options.js'
import { UsageError } from './errors.js'
import { messageLine } from './format.js'
import type { CliIo } from './io.js'
import { runCommand } from './run.js'
import { seconds } from './send.js'
import { cursorFile, cursorFilePath } from './state-file.js'

interface RecvFlags extends ConnectionFlags {
  count?: string
  timeout?: string
  state?: string
}

export function registerRecv (program: Command, io: CliIo): Command {
  const command = program.command('recv')
    .description('print messages as JSON lines, from where the last run stopped; runs until Ctrl-C unless --count or --timeout')
    .option('--count <n>', 'exit after printing n messages')
    .option('--timeout <seconds>', 'exit once caught up and this long after starting (0: print what was missed, then exit)')
    .addOption(showDefault(new Option('--state <file>', 'cursor file'), '<user>-<device>.json in the state dir: <data-dir>/clients, or ~/.lowband/state with --token'))
  return addConnectionOptions(command).action(runCommand(io, command, async (flags: RecvFlags) => {
    const count = flags.count === undefined ? undefined : positiveInteger('--count', flags.count)
    const timeoutMs = flags.timeout === undefined ? undefined : seconds('--timeout', flags.timeout) * 1000
    const connection = await resolveConnection(flags, io, 'recv')
    const state = cursorFile(cursorFilePath({ state: flags.state, dataDir: connection.dataDir, homeDir: io.homeDir, userId: connection.userId, deviceId: connection.deviceId }))
    const client = createClient(connection, { cursor: await state.load() })

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
        await io.writeOut(messageLine(message))
        if (message.seq === lastSeq) finish()
      })
    })
    client.onCursor((cursor) => {
      if (!stopped && (lastSeq === undefined || cursor <= lastSeq)) enqueue(() => state.save(cursor))
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
      if (failed !== undefined) throw failed
    } finally {
      stopListening()
      await client.close()
    }
  }))
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
