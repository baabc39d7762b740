import { fakeClient, open } from './fake-client.js'

/** A fake client (alice/phone) that is connected on its first fake transport. */
export async function connectedFake (options: Parameters<typeof fakeClient>[0] = {}) {
  const fake = fakeClient(options)
  const connected = fake.client.connect()
  await open(await fake.transports.waitFor(1))
  await connected
  return { ...fake, transport: fake.transports.made[0]! }
}
