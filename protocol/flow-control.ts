/**
 * Publishes one connection may send at once before the broker's rate limit answers: the default of
 * `--rate-burst` (after it, `--rate-limit` per second). MQTT 3.1.1 gives a server no way to
 * announce how many QoS 1 publishes it takes in flight (MQTT 5's Receive Maximum, §3.2.2.3.3, is
 * that; aedes 1.2 speaks 3.1.1 only), so the broker's default and the SDK's sending window share
 * this documented constant (docs/PROTOCOL.md, Flow control).
 */
export const PUBLISH_BURST = 200

/**
 * The most sends the SDK keeps awaiting their PUBACK by default: half the burst, leaving the rest
 * for the device's other publishes (read watermarks, typing, requests) and for a resend of the whole
 * window after a reconnect, which draws on the same allowance (it belongs to the client id).
 */
export const SENDS_IN_FLIGHT = PUBLISH_BURST / 2
