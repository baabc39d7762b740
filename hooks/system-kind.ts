import { isSystemKind, KIND } from '../protocol/envelopes.js'
import type { StoredMessage } from '../storage/contracts.js'

/**
 * The device the broker's own system messages are stored as sent from. It has a character no
 * device id may have ('#'), so no connection ever sends as it.
 */
export const BROKER_DEVICE = '#broker'

/**
 * The kind a stored message goes out with: a system kind only for the broker's own messages. A
 * device's message stored with one before devices were refused them goes out as text, so what a
 * device reads from a system kind is always the broker's word.
 */
export function kindOnWire (message: Pick<StoredMessage, 'kind' | 'fromDevice'>): number {
  return isSystemKind(message.kind) && message.fromDevice !== BROKER_DEVICE ? KIND.text : message.kind
}
