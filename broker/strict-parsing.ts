import type { Aedes, Client } from 'aedes'
import { isUtf8 } from 'node:buffer'
import mqttPacket from 'mqtt-packet'
import type { Writable } from 'node:stream'

/** The parts of mqtt-packet 9's Parser (parser.js) this touches; they are not in its type declarations. */
interface Parser {
  packet: Record<string, unknown>
  error: Error | null
  _pos: number
  _list: { length: number, readUInt8 (offset: number): number, readUInt16BE (offset: number): number, slice (start: number, end: number): Buffer, toString (encoding: 'utf8', start: number, end: number): string }
  /** Set on the parsers of broker connections only. */
  strict?: true
  _parseString (): string | null
  _parseConnect (): unknown
  _parseMessageId (): boolean
  _parseSubscribe (): unknown
  _parseUnsubscribe (): unknown
  _emitError (error: Error): void
}

/**
 * A decoded string that needs a second look: Node decodes every ill-formed UTF-8 sequence (overlong
 * forms, encoded surrogates, stray bytes) to U+FFFD, so a string without it was well-formed; U+0000
 * is never allowed.
 */
// eslint-disable-next-line no-control-regex -- U+0000 is exactly what this looks for
const SUSPECT = /[\u0000\uFFFD]/

/** What `_parseConnect` leaves in `packet` (mqtt-packet's IConnectPacket, the parts checked here). */
interface ParsedConnect {
  protocolVersion?: number
  will?: { topic?: string, qos?: number }
  username?: string
  password?: Buffer
  length: number
}

/** The packets whose packet identifier must not be 0 [MQTT-2.3.1-1] (PUBLISH carries one only at QoS > 0). */
const NON_ZERO_ID = new Set(['publish', 'subscribe', 'unsubscribe'])

/** A SUBSCRIBE's topic filter / QoS pair, as the parser makes it and Aedes passes it on. */
interface Pair { topic: string, qos: number }

/**
 * A SUBSCRIBE that names a filter more than once, as sent: kept on its last pair, an object of
 * the packet that Aedes is sure to pass on to its `subscribe` event (it keeps each filter's last).
 */
interface RepeatedFilters { messageId: number, pairs: readonly Pair[] }
const REPEATED = Symbol('repeated filters')
type MarkedPair = Pair & { [REPEATED]?: RepeatedFilters }

const REFUSED = 0x80

/** Protocol names mqtt-packet knows, and the levels it parses (3.1, 3.1.1, 5). */
const PROTOCOL_NAMES = new Set(['MQTT', 'MQIsdp'])
const PARSED_LEVELS = new Set([3, 4, 5])

let installed = false

/**
 * Where mqtt-packet's parser is more lenient, or more abrupt, than MQTT 3.1.1 asks of a server.
 * Patched once on the parser class and acting only on parsers marked `strict` (the broker's
 * connections, not MQTT.js clients sharing the process), like packet-limit.ts:
 *
 * - **Strings.** The parser decodes every UTF-8 string with replacement, so ill-formed UTF-8
 *   reached the hooks as U+FFFD and was accepted; a topic, filter, client id, will topic or user
 *   name that is ill-formed UTF-8 [MQTT-1.5.3-1] or holds U+0000 [MQTT-1.5.3-2] is now a protocol
 *   error that closes the connection. The common case costs one regular-expression scan of the
 *   decoded string; only a string holding U+FFFD has its bytes checked (it may be a real U+FFFD).
 * - **Protocol level.** The parser rejects a CONNECT of an unknown protocol level as malformed, so
 *   the client was disconnected without an answer. It now becomes a CONNECT of that level, which
 *   Aedes answers with CONNACK 0x01 before closing [MQTT-3.1.2-2].
 * - **An empty UNSUBSCRIBE.** The parser accepts an UNSUBSCRIBE of a packet id and no filter, and
 *   Aedes answers it; it is a protocol violation that closes the connection [MQTT-3.10.3-2].
 * - **Packet identifier 0** on a PUBLISH, SUBSCRIBE or UNSUBSCRIBE was accepted (and answered
 *   with a PUBACK or SUBACK of id 0); it closes the connection [MQTT-2.3.1-1], as Mosquitto does.
 * - **CONNECT fields the flags contradict** were accepted: Will QoS 3 [MQTT-3.1.2-14], a will
 *   topic that is no topic name (empty, or with a wildcard: the will is published to it)
 *   [MQTT-3.1.2-9], a password without the User Name Flag [MQTT-3.1.2-22] (answered with
 *   CONNACK 0x04), bytes after the last field its flags announce (a user name or password without
 *   its flag) [MQTT-3.1.2-18] [MQTT-3.1.2-20]. Each closes the connection without a CONNACK
 *   [MQTT-3.1.4-1], as Mosquitto does.
 * - **A filter named twice in one SUBSCRIBE.** Aedes keeps the last pair of each filter and
 *   answers only those, so the SUBACK had fewer return codes than the SUBSCRIBE had pairs, and a
 *   client matched them to the wrong filters. Such a packet now goes to Aedes without its packet
 *   id (Aedes then sends no SUBACK) and is answered here once Aedes has granted it, one code per
 *   pair in order [MQTT-3.8.4-5] [MQTT-3.9.3-1]. As Mosquitto answers, who processes the pairs in
 *   turn, an earlier pair gets its own QoS (capped where the filter's grant was lowered) or the
 *   filter's refusal, and the last pair stands [MQTT-3.8.4-3].
 */
function install (): void {
  if (installed) return
  installed = true
  const proto = Object.getPrototypeOf(mqttPacket.parser()) as Parser
  const parseString = proto._parseString
  const parseConnect = proto._parseConnect
  const parseUnsubscribe = proto._parseUnsubscribe
  const parseMessageId = proto._parseMessageId
  const parseSubscribe = proto._parseSubscribe
  const emitError = proto._emitError
  proto._parseString = function (this: Parser): string | null {
    const start = this._pos + 2 // after the string's two-byte length
    const text = parseString.call(this)
    if (text === null || this.strict !== true || !SUSPECT.test(text)) return text
    if (text.includes('\u0000')) {
      this._emitError(new Error('a UTF-8 string holds U+0000 [MQTT-1.5.3-2]'))
      return null
    }
    if (!isUtf8(this._list.slice(start, this._pos))) {
      this._emitError(new Error('a string is not well-formed UTF-8 [MQTT-1.5.3-1]'))
      return null
    }
    return text
  }
  proto._parseConnect = function (this: Parser): unknown {
    const level = this.strict === true ? unparsedLevel(this) : undefined
    if (level === undefined) {
      const packet = parseConnect.call(this)
      if (this.strict === true && this.error === null) {
        const problem = connectProblem(this.packet as unknown as ParsedConnect, this._pos)
        if (problem !== undefined) this._emitError(new Error(problem))
      }
      return packet
    }
    // Enough for Aedes to answer: it checks the level before anything else in the CONNECT.
    Object.assign(this.packet, { protocolId: 'MQTT', protocolVersion: level, clean: true, keepalive: 0, clientId: '' })
    return this.packet
  }
  proto._parseSubscribe = function (this: Parser): unknown {
    const result = parseSubscribe.call(this)
    const pairs = this.packet.subscriptions as MarkedPair[] | undefined
    if (this.strict === true && this.error === null && pairs !== undefined && pairs.length > 1 && new Set(pairs.map((p) => p.topic)).size < pairs.length) {
      pairs.at(-1)![REPEATED] = { messageId: this.packet.messageId as number, pairs: pairs.map(({ topic, qos }) => ({ topic, qos })) }
      delete this.packet.messageId
    }
    return result
  }
  proto._parseUnsubscribe = function (this: Parser): unknown {
    const result = parseUnsubscribe.call(this)
    const filters = this.packet.unsubscriptions as unknown[] | undefined
    if (this.strict === true && this.error === null && filters?.length === 0) {
      this._emitError(new Error('an UNSUBSCRIBE names no topic filter [MQTT-3.10.3-2]'))
    }
    return result
  }
  proto._parseMessageId = function (this: Parser): boolean {
    if (!parseMessageId.call(this)) return false
    if (this.strict !== true || this.packet.messageId !== 0 || !NON_ZERO_ID.has(this.packet.cmd as string)) return true
    this._emitError(new Error(`a ${this.packet.cmd as string} has packet identifier 0 [MQTT-2.3.1-1]`))
    return false
  }
  // The caller of a string that failed reports its own, vaguer error ("Cannot parse topic") right
  // after: the first error of a packet is the one that stands.
  proto._emitError = function (this: Parser, error: Error): void {
    if (this.strict === true && this.error !== null) return
    emitError.call(this, error)
  }
}

/** Why a parsed CONNECT (`end`: where its parsing stopped) breaks MQTT 3.1.1, or undefined. */
function connectProblem (connect: ParsedConnect, end: number): string | undefined {
  const will = connect.will
  if (will?.qos === 3) return 'Will QoS 3 [MQTT-3.1.2-14]'
  if (will !== undefined && (will.topic === '' || /[+#]/.test(will.topic ?? ''))) return 'the will topic is not a topic name [MQTT-3.1.2-9]'
  if (connect.protocolVersion === 4 && connect.password !== undefined && connect.username === undefined) return 'a password without the User Name Flag [MQTT-3.1.2-22]'
  if (end !== connect.length) return 'CONNECT holds fields its flags do not announce [MQTT-3.1.2-18] [MQTT-3.1.2-20]'
  return undefined
}

/** The protocol level of a CONNECT that names MQTT but has a level the parser would refuse. */
function unparsedLevel (parser: Parser): number | undefined {
  const list = parser._list
  if (list.length < 2) return undefined
  const nameLength = list.readUInt16BE(0)
  if (list.length < 3 + nameLength) return undefined
  if (!PROTOCOL_NAMES.has(list.toString('utf8', 2, 2 + nameLength))) return undefined
  const level = list.readUInt8(2 + nameLength) & 0x7f // without the bridge bit
  return PARSED_LEVELS.has(level) ? undefined : level
}

/** The SUBACK of a SUBSCRIBE that named a filter more than once; Aedes has set each of `granted`'s `qos` to its grant. */
function answerRepeated (granted: readonly MarkedPair[], client: Client): void {
  const repeated = granted.find((pair) => pair[REPEATED] !== undefined)?.[REPEATED]
  if (repeated === undefined || !client.connected) return
  const grants = new Map(granted.map((pair) => [pair.topic, pair.qos]))
  const lastAsked = new Map(repeated.pairs.map((pair) => [pair.topic, pair.qos]))
  const codes = repeated.pairs.map(({ topic, qos }) => {
    const grant = grants.get(topic) ?? REFUSED
    return grant === REFUSED ? REFUSED : Math.min(qos, grant < lastAsked.get(topic)! ? grant : 2)
  })
  mqttPacket.writeToStream({ cmd: 'suback', messageId: repeated.messageId, granted: codes }, (client as unknown as { conn: Writable }).conn)
}

/** Every connection `broker.handle` takes parses strictly. */
export function parseStrictly (broker: Aedes): void {
  install()
  // Aedes emits `subscribe` with the granted pairs right after it would have written the SUBACK.
  broker.on('subscribe', (granted, client) => answerRepeated(granted as MarkedPair[], client))
  const handle = broker.handle
  broker.handle = (stream, request) => {
    const client = handle(stream, request)
    ;(client as unknown as { _parser: Parser })._parser.strict = true
    return client
  }
}
