/**
 * Identifiers that appear in topic names. They must never contain MQTT topic separators or
 * wildcards, or a user could address another user's subtree by choosing a clever name.
 */
const ID_PATTERN = /^[A-Za-z0-9_.@-]{1,64}$/

export type UserId = string
export type DeviceId = string

export function isValidId (value: string): boolean {
  return ID_PATTERN.test(value)
}

/** An MQTT client id of a chat device: `<userId>/<deviceId>`. */
export function parseClientId (clientId: string): { userId: UserId, deviceId: DeviceId } | undefined {
  const slash = clientId.indexOf('/')
  if (slash < 0) return undefined
  const userId = clientId.slice(0, slash)
  const deviceId = clientId.slice(slash + 1)
  if (!isValidId(userId) || !isValidId(deviceId)) return undefined
  return { userId, deviceId }
}

export function clientIdOf (userId: UserId, deviceId: DeviceId): string {
  return `${userId}/${deviceId}`
}
