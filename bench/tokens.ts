import { mintDeviceToken, secretFromText } from '../protocol/token.js'
import { JWT_SECRET } from './brokers.js'

/**
 * One device token per user, signed with the secret the bench starts lowband with. Tokens carry no
 * device claim, so one serves every device of its user (the memory section's 100 devices each).
 */
export async function mintTokens (userIds: readonly string[]): Promise<Map<string, string>> {
  const tokens = new Map<string, string>()
  for (const userId of userIds) {
    tokens.set(userId, await mintDeviceToken({ userId, ttl: '6h', secret: secretFromText(JWT_SECRET) }))
  }
  return tokens
}
