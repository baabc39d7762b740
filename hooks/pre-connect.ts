import type { Client, ConnectPacket } from 'aedes'

/**
 * Clients that sent a zero-byte client id with CleanSession 0. Aedes names every zero-byte id
 * (`aedes_<uuid>`) before authentication, so only the CONNECT packet, seen here, can tell; the
 * authenticate hook refuses them with CONNACK 0x02, the one place Aedes answers a refusal with a code.
 */
export type UnnamedSessions = WeakSet<Client>

/**
 * A zero-byte client id asks the server to name the client, which only makes sense for a clean
 * session: with CleanSession 0 there is no session to resume under a name the client never had
 * [MQTT-3.1.3-8].
 */
export function createPreConnect (unnamed: UnnamedSessions) {
  return (client: Client, packet: ConnectPacket, done: (error: Error | null, success: boolean) => void): void => {
    if (packet.clientId === '' && packet.clean === false) unnamed.add(client)
    done(null, true)
  }
}
