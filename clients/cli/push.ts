import type { Command } from 'commander'
import { PUSH_PLATFORMS, type PushPlatform } from '../../protocol/requests.js'
import type { LowbandClient, PushRegistration } from '../sdk/index.js'
import { addConnectionOptions, createClient, resolveConnection, type ConnectionFlags } from './connection-options.js'
import { UsageError } from './errors.js'
import type { CliIo } from './io.js'
import { runCommand } from './run.js'
import { seconds } from './send.js'

interface PushFlags extends ConnectionFlags {
  platform: string
  json?: boolean
  timeout: string
}

/**
 * `lowband push register <token> | unregister | list`: the push token of the device given by
 * --device (a phone's token, set by hand for a test or on its behalf), and the user's devices that
 * have one. Each run is a send-only device, like `group`.
 */
export function registerPush (program: Command, io: CliIo): Command {
  const push = program.command('push').description('register this device\'s push token (FCM), or list the devices that have one')
  const operations: Array<{ usage: string, description: string, run: (client: LowbandClient, args: string[], flags: PushFlags) => Promise<PushRegistration[]> }> = [
    { usage: 'register <token>', description: 'set the push token of --device (replacing its previous one)', run: async (c, [token], f) => { await c.registerPush(token!, platformOf(f.platform)); return [] } },
    { usage: 'unregister', description: 'remove the push token of --device', run: async (c) => { await c.unregisterPush(); return [] } },
    { usage: 'list', description: 'your devices that have a push token: device, platform, token', run: (c) => c.pushRegistrations() }
  ]
  for (const operation of operations) {
    const command = push.command(operation.usage).description(operation.description)
      .option('--platform <platform>', 'register: android | ios | web', 'android')
      .option('--json', 'list: one JSON object per device')
      .option('--timeout <seconds>', 'how long to wait for each attempt of the answer', '10')
    addConnectionOptions(command).action(runCommand(io, command, async (...params: unknown[]) => {
      const flags = params[command.registeredArguments.length] as PushFlags
      const args = params.slice(0, command.registeredArguments.length) as string[]
      platformOf(flags.platform)
      const timeoutMs = seconds('--timeout', flags.timeout) * 1000
      if (timeoutMs <= 0) throw new UsageError('--timeout must be more than 0')
      // Without --device: the device `recv` reads the inbox as, the one a push would wake.
      const client = createClient(await resolveConnection(flags, io, 'recv'), { sendOnly: true, requestTimeoutMs: timeoutMs })
      try {
        await client.connect()
        for (const item of await operation.run(client, args, flags)) {
          await io.writeOut(flags.json === true ? `${JSON.stringify(item)}\n` : `${item.device} ${item.platform} ${item.token}\n`)
        }
      } finally {
        await client.close()
      }
    }))
  }
  return push
}

function platformOf (value: string): PushPlatform {
  const platform = PUSH_PLATFORMS.find((p) => p === value)
  if (platform === undefined) throw new UsageError(`invalid --platform ${JSON.stringify(value)}: android, ios or web`)
  return platform
}
