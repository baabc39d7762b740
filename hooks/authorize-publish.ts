import type { Client, PublishPacket } from 'aedes'
import { ERROR_CODES, LowbandError, type ErrorCode } from '../protocol/errors.js'
import { COMMAND, COMMAND_ROOT, SINK_TOPIC, isChatTopic, isInternalTopic, isSendTopic, recipientOfSendTopic } from '../protocol/topics.js'
import { RetriableError } from '../storage/retriable.js'
import type { HookContext, Identity } from './context.js'
import { runRead } from './flows/read.js'
import { runRequest } from './flows/request.js'
import { runResume } from './flows/resume.js'
import { DevicePayload } from './flows/payload.js'
import { runSend, type SendOrder } from './flows/send.js'
import { runTyping } from './flows/typing.js'
import { Allowances } from './rate-limit.js'
import { failed, reject, retriable } from './reject.js'
import { aclOf } from './topic-acl.js'

/**
 * Every client PUBLISH passes here first. In aedes 1.2 the QoS 1 PUBACK is written right after this
 * hook calls back (lib/handlers/publish.js), so chat commands do their work *here*: a message is
 * stored before its PUBACK leaves (invariant 1).
 *
 * "It MUST either make a positive acknowledgement, according to the normal QoS rules, or close the
 * Network Connection" [MQTT-3.3.5-2], and lowband uses both, so that a PUBACK always means stored
 * (reject.ts has the rule). A permanent refusal gets a coded error on the sender's subtree, is
 * rerouted to a sink topic no one can subscribe to, and is acknowledged as usual. A failure the
 * client can fix by resending — store failure, shutdown, a QoS 1 publish over the rate — calls
 * back with an error: Aedes then closes the connection before writing the PUBACK
 * (lib/handlers/publish.js runs the PUBACK only after this hook succeeds), and the client resends
 * on reconnect. A flood closes the connection too.
 */
export function createAuthorizePublish (ctx: HookContext) {
  const allowances = new Allowances(ctx.config.rateLimit, ctx.now)
  // Aedes runs all packets of one socket read at once; a device's commands must still take effect
  // in the order it sent them (two pipelined sends to one chat are stored in that order). A command
  // starts once the one before it is placed — a send has its numbers (storage's `placed`), any
  // other command is over — and settles after it, so PUBACKs leave in the order of the PUBLISHes;
  // a send also acknowledges and delivers only after the one before it settled, so deliveries keep
  // that order too [MQTT-4.6.0-6]. A burst's sends thus share group commits instead of each
  // waiting out the durable write before it, and their deliveries leave in a few socket writes,
  // not one small segment each — which on a young connection spends the recipient's congestion
  // window (10 segments) on a dozen messages and holds the rest a round trip
  // (docs/netem/README.md, "Bursts").
  const queues = new WeakMap<Client, { placed: Promise<void>, settled: Promise<void> }>()
  const inOrder = (client: Client, work: (order: SendOrder) => Promise<void>): Promise<void> => {
    const before = queues.get(client)
    let place!: () => void
    const placed = new Promise<void>((resolve) => { place = resolve })
    const order: SendOrder = { placed: place, ...(before === undefined ? {} : { previous: before.settled }) }
    const run = (before?.placed ?? Promise.resolve()).then(() => work(order))
    void run.then(place, place)
    const settled = before === undefined ? run : before.settled.then(() => run)
    queues.set(client, { placed, settled: settled.then(() => undefined, () => undefined) })
    return settled
  }

  return (client: Client | null, packet: PublishPacket, done: (error?: Error | null) => void): void => {
    const topic = packet.topic
    // A will on c/o marks its device offline (the one will lowband uses) and goes no further; no
    // other will may enter the chat namespace or the broker's internals. (A will published for a
    // client of a dead node comes without its client: presence is per process, so there is
    // nothing here to update.)
    if (client === null || client.closed) {
      if (topic === COMMAND.offline) {
        const device = client === null ? undefined : ctx.identities.get(client)
        if (device !== undefined) void ctx.presence.disconnected(client!, device.userId)
        return done(new Error('will handled'))
      }
      // A will into the chat namespace (a send, a command), or a command read after its connection
      // closed, is nobody's publish to store, answer or ask to resend: dropped.
      if (isChatTopic(topic) || isInternalTopic(topic)) return done(new Error('forbidden will topic, or connection closed'))
      if (client === null) return done(null)
    }
    const identity = ctx.identities.get(client)
    // Decoded at most once, by the command or the refusal, whichever needs it first.
    const payload = new DevicePayload(packet.payload as Buffer)
    const refuse = (error: LowbandError): void => {
      sink(packet)
      reject(ctx, client, error, topic, topic === COMMAND.send || isSendTopic(topic) ? payload.clientMsgId() : undefined)
        .finally(() => done(null))
    }
    const closeWithout = (error: unknown, code: ErrorCode = ERROR_CODES.STORE_FAILED.code): void => done(retriable(ctx, client, error, topic, code))

    const limit = allowances.of(client.id).take(packet.payload.length)
    if (limit !== undefined) {
      if (limit.flooding) {
        ctx.log.warn({ clientId: client.id, over: limit.over }, 'disconnecting a flooding client')
        return done(new Error('publish flood'))
      }
      // At QoS 0 nothing is acknowledged, so the code can be told and the connection kept; a QoS 1
      // publish over the rate is not stored, so it must not be acknowledged either.
      return packet.qos === 0 ? refuse(new LowbandError('RATE_LIMITED', limit.over)) : closeWithout(new RetriableError(`over the ${limit.over}`), ERROR_CODES.RATE_LIMITED.code)
    }
    if (packet.payload.length > ctx.config.maxPayload) {
      return refuse(new LowbandError('TOO_LARGE', `${packet.payload.length} > ${ctx.config.maxPayload} bytes`))
    }
    if (isInternalTopic(topic)) return refuse(new LowbandError('FORBIDDEN_TOPIC', topic))
    if (!isChatTopic(topic)) {
      if (ctx.config.topicPolicy !== 'open') return refuse(new LowbandError('FORBIDDEN_TOPIC', 'topic policy is deny'))
      // Aedes copies the publisher's DUP flag onto every delivery; a subscriber's DUP must say only
      // whether *its* copy is a retransmission [MQTT-3.3.1-3].
      packet.dup = false
      // MQTT 3.1.1 has no way to refuse a PUBLISH: as Mosquitto does, one the ACL denies is
      // acknowledged by its QoS and dropped (a denied will too).
      if (aclOf(ctx, client)?.mayPublish(topic) === false) sink(packet)
      return done(null)
    }
    if (identity === undefined) return refuse(new LowbandError('FORBIDDEN_TOPIC', 'anonymous clients have no chat access'))
    // Devices never publish into user subtrees: only the broker does, after stamping. A send topic
    // names one user (`s/<to>`): anything else under `s/` (more levels, a bad id) is no topic.
    if (!topic.startsWith(COMMAND_ROOT) && recipientOfSendTopic(topic) === undefined) return refuse(new LowbandError('FORBIDDEN_TOPIC', topic))
    // Commands queued behind one that closed the connection do not run: none could be acknowledged,
    // and storing a later send before the failed one is resent would break the device's order.
    const command = (order: SendOrder): Promise<void> => client.closed ? Promise.reject(new RetriableError('connection closed')) : runCommand(ctx, client, identity, topic, payload, order)
    ctx.inFlight.track(inOrder(client, command)).then(() => {
      sink(packet)
      done(null)
    }, (error: unknown) => error instanceof LowbandError ? refuse(error) : closeWithout(error))
  }
}

/** `order`: a send follows it (see inOrder); the other commands simply finish. */
function runCommand (ctx: HookContext, client: Client, identity: Identity, topic: string, payload: DevicePayload, order: SendOrder): Promise<void> {
  const to = recipientOfSendTopic(topic)
  if (to !== undefined) return runSend(ctx, client, identity, payload, to, order)
  switch (topic) {
    case COMMAND.send:
      return runSend(ctx, client, identity, payload, undefined, order)
    case COMMAND.read:
      return runRead(ctx, client, identity, payload)
    case COMMAND.typing:
      return runTyping(ctx, client, identity, payload)
    case COMMAND.resume:
    case COMMAND.request:
      // Not stored: acknowledge at once and answer in the background, so the device's PUBACKs for
      // a long replay are read while it runs.
      (topic === COMMAND.resume ? runResume : runRequest)(ctx, client, identity, payload)
        .catch((error: unknown) => failed(ctx, client, error, topic))
      return Promise.resolve()
    default:
      return Promise.reject(new LowbandError('UNKNOWN_COMMAND', topic))
  }
}

/** Reroutes an accepted-but-handled publish where no subscriber can match (`$` topics match no wildcard). */
function sink (packet: PublishPacket): void {
  packet.topic = SINK_TOPIC
  packet.retain = false
}
