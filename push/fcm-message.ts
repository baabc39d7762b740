import { createHash } from 'node:crypto'
import type { Message } from 'firebase-admin/messaging'
import type { PushMessage } from './contracts.js'

/**
 * A push as FCM HTTP v1 takes it, for the token's platform. Data only everywhere: no notification
 * block, so nothing the phone shows comes from the broker, and the app decides what to display.
 * - Android: `priority` (high wakes a dozing phone), `collapse_key`, `ttl`.
 * - iOS, through FCM's `apns` block: a background push (`content-available: 1`). Apple requires
 *   `apns-priority: 5` and `apns-push-type: background` for it whatever the conversation, so the
 *   configured priority applies to Android and the web only; `apns-collapse-id` and
 *   `apns-expiration` carry the collapse key and the TTL.
 * - Web: the Web Push `Urgency`, `TTL` and `Topic` (its collapse key: at most 32 URL-safe characters).
 */
export function fcmMessage (push: PushMessage, nowMs: number): Message {
  const base = { token: push.token, data: push.data }
  switch (push.platform) {
    case 'android':
      return { ...base, android: { priority: push.priority, collapseKey: push.collapseKey, ttl: push.ttlSeconds * 1000 } }
    case 'ios':
      return {
        ...base,
        apns: {
          headers: {
            'apns-push-type': 'background',
            'apns-priority': '5',
            'apns-collapse-id': push.collapseKey,
            'apns-expiration': String(Math.floor(nowMs / 1000) + push.ttlSeconds)
          },
          payload: { aps: { contentAvailable: true } }
        }
      }
    case 'web':
      return { ...base, webpush: { headers: { Urgency: push.priority, TTL: String(push.ttlSeconds), Topic: webTopic(push.collapseKey) } } }
  }
}

function webTopic (collapseKey: string): string {
  return createHash('sha256').update(collapseKey).digest('base64url').slice(0, 32)
}
