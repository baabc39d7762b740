import { randomBytes } from 'node:crypto'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { isValidId } from '../../protocol/ids.js'
import { UsageError } from './errors.js'

/**
 * What a command connects as when no --device is given. Each kind has a device of its own, so a
 * `send` or `recv` never takes over the session of an open `chat` (one client id per session
 * [MQTT-3.1.4-2]: the broker would close the chat's connection) and never reads another's inbox
 * cursor. `group` commands send only, like `send`, and share its device.
 */
export type DeviceRole = 'chat' | 'send' | 'recv'

/**
 * The device id of `role` for `userId`: made once (`cli-send-3fa9c1d2`) and kept in the state
 * directory, so every run of the command is the same device of that user (the broker keeps one
 * record per device) and two installations never share one.
 */
export async function ownDeviceId (stateDir: string, userId: string, role: DeviceRole): Promise<string> {
  const file = join(stateDir, `${userId}.${role}-device`)
  const made = `cli-${role}-${randomBytes(4).toString('hex')}`
  try {
    await mkdir(stateDir, { recursive: true })
    // Exclusive create: of two first runs at once, one writes and both use what it wrote.
    await writeFile(file, made + '\n', { flag: 'wx' })
    return made
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'ENOTDIR') throw new UsageError(`cannot keep the device id in ${stateDir}: a file is in the way`)
    if (code !== 'EEXIST') throw error
  }
  const kept = (await readFile(file, 'utf8')).trim()
  if (!isValidId(kept)) throw new UsageError(`${file} holds no valid device id: delete it to have a new one made`)
  return kept
}
