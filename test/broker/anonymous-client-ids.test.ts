import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { connectMqtt, startTestBroker, type TestBroker } from '../helpers/broker.js'

const refusal = (promise: Promise<unknown>): Promise<number | undefined> =>
  promise.then(() => undefined, (error: { code?: number }) => error.code)

/**
 * Under `--topic-policy open --allow-anonymous`, anyone may connect; a connection with a client id
 * already connected takes its place [MQTT-3.1.4-2]. So a chat device's client id must be its own:
 * an anonymous client may not sign in under it and push the device off.
 */
describe('anonymous clients and chat devices\' client ids', () => {
  let broker: TestBroker
  beforeAll(async () => { broker = await startTestBroker({ topicPolicy: 'open', allowAnonymous: true }) })
  afterAll(() => broker.close())

  it('refuses an anonymous client the client id of a registered chat device with return code 2, and the device stays connected', async () => {
    const device = await connectMqtt(broker.url, { clientId: 'alice/phone', username: 'alice', password: await broker.token('alice') })
    expect(await refusal(connectMqtt(broker.url, { clientId: 'alice/phone' }))).toBe(2)
    // Still connected: a round trip on the same connection (it does not reconnect).
    await device.publishAsync('sensors/x', 'still here', { qos: 1 })
    expect(device.connected).toBe(true)
    await device.endAsync()
    // Once the device is gone too: the id stays the device's.
    expect(await refusal(connectMqtt(broker.url, { clientId: 'alice/phone', clean: false }))).toBe(2)
  })

  it('lets anonymous clients use other ids, with a slash too', async () => {
    const sensor = await connectMqtt(broker.url, { clientId: 'sensor/kitchen' })
    expect(sensor.connected).toBe(true)
    await sensor.endAsync()
  })
})
