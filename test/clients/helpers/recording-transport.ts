import { mqttTransportFactory, type Transport, type TransportFactory, type TransportOptions } from '../../../clients/sdk/index.js'

/** Real mqtt.js transports that also record what the device publishes and subscribes to, across reconnects. */
export function recordingTransports (inner: TransportFactory = mqttTransportFactory()): {
  factory: TransportFactory
  options: TransportOptions[]
  publishes: Array<{ topic: string, payload: Uint8Array }>
  subscribes: string[]
  published: (topic: string) => Uint8Array[]
} {
  const options: TransportOptions[] = []
  const publishes: Array<{ topic: string, payload: Uint8Array }> = []
  const subscribes: string[] = []
  const factory: TransportFactory = (opts) => {
    options.push(opts)
    const transport = inner(opts)
    const recorded: Transport = {
      connect: () => transport.connect(),
      publish: (topic, payload, qos) => {
        publishes.push({ topic, payload })
        return transport.publish(topic, payload, qos)
      },
      subscribe: (filter, qos) => {
        subscribes.push(filter)
        return transport.subscribe(filter, qos)
      },
      unsubscribe: (filter) => transport.unsubscribe(filter),
      onMessage: (handler) => transport.onMessage(handler),
      onClose: (handler) => transport.onClose(handler),
      close: () => transport.close()
    }
    return recorded
  }
  return { factory, options, publishes, subscribes, published: (topic) => publishes.filter((p) => p.topic === topic).map((p) => p.payload) }
}
