import type { ClientOptions, LowbandClient } from '../../clients/sdk/index.js'
import { decodeDeviceState, type DeviceState } from '../../clients/sdk/crypto/device-state.js'
import type { TestBroker } from '../clients/helpers/broker.js'

/** A device with end-to-end encryption whose saved state the test can read and restore. */
export interface E2eDevice {
  client: LowbandClient
  /** The last state the client saved. */
  saved (): Uint8Array
  state (): DeviceState
}

/** A connected, caught-up device that has published its keys. `state` restores a saved one. */
export async function e2eDevice (broker: TestBroker, user: string, device: string, options: { state?: Uint8Array, client?: Partial<ClientOptions>, before?: (client: LowbandClient) => void } = {}): Promise<E2eDevice> {
  let saved = options.state ?? new Uint8Array(0)
  const client = await broker.client(user, device, {
    ...options.client,
    e2e: { ...(options.state === undefined ? {} : { state: options.state }), save: (state) => { saved = state } }
  })
  // Handlers go on before connect(): the replay of what the device missed starts right after it.
  options.before?.(client)
  await client.connect()
  await client.synced()
  await client.publishKeys()
  await client.keysSaved()
  return { client, saved: () => saved, state: () => decodeDeviceState(saved) }
}
