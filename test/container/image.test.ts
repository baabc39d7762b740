import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { LowbandClient, type ChatMessage } from '../../clients/sdk/index.js'
import { next } from '../clients/helpers/events.js'
import { becomesHealthy, buildImage, ensureBaseImage, podman, podmanUnavailableReason, publishedAddress, run } from './podman.js'

const skipReason = await podmanUnavailableReason()
if (skipReason !== null) console.warn(`container image tests skipped: ${skipReason}`)

/** The broker's --shutdown-timeout default (s): SIGTERM must end the container within it. */
const SHUTDOWN_TIMEOUT_S = 10
/** Each step starts or stops containers: seconds apiece, more on a busy machine. */
const STEP_TIMEOUT = { timeout: 180_000 }

/**
 * The image as a user runs it: built from the repository's Dockerfile, started with podman on a
 * named volume with its ports published on loopback, driven by the SDK from outside.
 */
describe.skipIf(skipReason !== null)(`the container image${skipReason === null ? '' : ` (skipped: ${skipReason})`}`, () => {
  const name = `lowband-test-${process.pid}-${randomBytes(3).toString('hex')}`
  let image = ''
  const volume = name
  const containers: string[] = []
  const clients: LowbandClient[] = []
  const tokens = new Map<string, string>()

  /** Starts a container of the image on the volume, every port published on a free loopback port. */
  async function start (): Promise<{ container: string, url: string }> {
    const container = `${name}-${containers.length + 1}`
    containers.push(container)
    await podman('run', '--detach', '--name', container, '--volume', `${volume}:/data`,
      '--publish', '127.0.0.1::1883', '--publish', '127.0.0.1::9090', image)
    expect(await becomesHealthy(container)).toBe(true)
    return { container, url: `mqtt://${await publishedAddress(container, 1883)}` }
  }

  /** A device of `user`, connected and caught up; `received` is its first message (the replay included). */
  async function connected (url: string, user: string, options: { cursor?: number } = {}): Promise<{ client: LowbandClient, received: Promise<ChatMessage> }> {
    const client = new LowbandClient({ url, userId: user, deviceId: 'phone', token: tokens.get(user)!, ...options })
    clients.push(client)
    const received = next<ChatMessage>((handler) => client.onMessage(handler))
    await client.connect()
    await client.synced()
    return { client, received }
  }

  beforeAll(async () => {
    await ensureBaseImage()
    image = await buildImage()
    await podman('volume', 'create', volume)
  }, 20 * 60_000)

  afterAll(async () => {
    await Promise.all(clients.map((client) => client.close()))
    for (const container of containers) await run(['rm', '--force', '--time', '0', container])
    await run(['volume', 'rm', '--force', volume])
  }, 120_000)

  let first: { container: string, url: string }
  let cursorAfterFirst = 0

  it('becomes healthy, and runs the broker as the non-root user', STEP_TIMEOUT, async () => {
    first = await start()
    expect(await podman('inspect', '--format', '{{.State.Health.Status}}', first.container)).toBe('healthy')
    expect(await podman('inspect', '--format', '{{.Config.User}}', first.container)).toBe('node')
    // PID 1 is the broker itself; its real and effective uids are not root's.
    const status = await podman('exec', first.container, 'cat', '/proc/1/status')
    const [real, effective] = /^Uid:\s+(\d+)\s+(\d+)/m.exec(status)!.slice(1).map(Number)
    expect({ real, effective }).toEqual({ real: 1000, effective: 1000 })
    expect(/^Name:\s+(\S+)/m.exec(status)![1]).toBe('node')
  })

  it('carries a message through the published MQTT port (tokens minted by the CLI inside)', STEP_TIMEOUT, async () => {
    for (const user of ['alice', 'bob']) tokens.set(user, await podman('exec', first.container, 'lowband', 'token', user, '--ttl', '1h'))
    const { client: alice } = await connected(first.url, 'alice')
    const { client: bob, received } = await connected(first.url, 'bob')
    const sent = await alice.send('bob', 'hello through the container')
    const message = await received
    expect(message).toMatchObject({ id: sent.id, from: 'alice', text: 'hello through the container' })
    cursorAfterFirst = message.seq
    await bob.close()
    // Stored for bob while he is away: it must outlive this container.
    await alice.send('bob', 'kept on the volume')
    await alice.close()
  })

  it(`stops on SIGTERM with exit code 0 within the shutdown timeout (${SHUTDOWN_TIMEOUT_S} s)`, STEP_TIMEOUT, async () => {
    // podman stop sends the STOPSIGNAL (SIGTERM) and SIGKILLs after --time: exit 137 would mean the drain did not finish.
    await podman('stop', '--time', String(SHUTDOWN_TIMEOUT_S), first.container)
    expect(await podman('inspect', '--format', '{{.State.ExitCode}}', first.container)).toBe('0')
    const logs = (await run(['logs', first.container])).stdout
    expect(logs).toContain('"signal":"SIGTERM"')
    expect(logs).toContain('lowband stopped')
  })

  it('keeps its data on the volume: a new container delivers what the old one stored', STEP_TIMEOUT, async () => {
    const second = await start()
    // The tokens were signed with the development secret the first container created in /data.
    const { received } = await connected(second.url, 'bob', { cursor: cursorAfterFirst })
    expect(await received).toMatchObject({ from: 'alice', text: 'kept on the volume' })
  })
})
