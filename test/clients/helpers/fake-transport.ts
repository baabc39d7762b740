import type { Transport, TransportFactory, TransportOptions } from '../../../clients/sdk/index.js'

interface Deferred { resolve: () => void, reject: (error: Error) => void }

/**
 * An in-memory transport the test drives by hand: it decides when connect() succeeds or fails,
 * sees every publish and subscribe, answers them, pushes messages and drops the connection.
 */
export class FakeTransport implements Transport {
  readonly options: TransportOptions
  readonly publishes: Array<{ topic: string, payload: Uint8Array, qos: 0 | 1 } & Deferred> = []
  readonly subscribes: Array<{ filter: string } & Deferred> = []
  readonly unsubscribes: Array<{ filter: string } & Deferred> = []
  readonly pings: Deferred[] = []
  closedForcibly = false
  #connect: Deferred | undefined
  #outcome: { error: Error | undefined } | undefined
  #onMessage: (topic: string, payload: Uint8Array) => void = () => {}
  #onClose: (error?: Error) => void = () => {}
  #onEstablished: () => void = () => {}
  #open = false
  readonly #waiters: Array<{ ready: () => boolean, resolve: () => void }> = []
  closedByClient = false

  constructor (options: TransportOptions) {
    this.options = options
  }

  connect (): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#connect = {
        resolve: () => { this.#open = true; resolve() },
        reject
      }
      if (this.#outcome !== undefined) this.#settle(this.#outcome)
    })
  }

  publish (topic: string, payload: Uint8Array, qos: 0 | 1): Promise<void> {
    const done = new Promise<void>((resolve, reject) => { this.publishes.push({ topic, payload, qos, resolve, reject }) })
    this.#changed()
    return done
  }

  subscribe (filter: string): Promise<void> {
    const done = new Promise<void>((resolve, reject) => { this.subscribes.push({ filter, resolve, reject }) })
    this.#changed()
    return done
  }

  ping (): Promise<void> {
    const done = new Promise<void>((resolve, reject) => { this.pings.push({ resolve, reject }) })
    this.#changed()
    return done
  }

  unsubscribe (filter: string): Promise<void> {
    const done = new Promise<void>((resolve, reject) => { this.unsubscribes.push({ filter, resolve, reject }) })
    this.#changed()
    return done
  }

  /** Resolves once `ready()` holds, checked after every publish and subscribe. */
  until (ready: () => boolean): Promise<void> {
    if (ready()) return Promise.resolve()
    return new Promise((resolve) => this.#waiters.push({ ready, resolve }))
  }

  /** The publishes to `topic`, in order. */
  published (topic: string): Array<{ payload: Uint8Array, qos: 0 | 1 } & Deferred> {
    return this.publishes.filter((p) => p.topic === topic)
  }

  #changed (): void {
    for (const waiter of [...this.#waiters]) {
      if (!waiter.ready()) continue
      this.#waiters.splice(this.#waiters.indexOf(waiter), 1)
      waiter.resolve()
    }
  }

  onMessage (handler: (topic: string, payload: Uint8Array) => void): void { this.#onMessage = handler }
  onClose (handler: (error?: Error) => void): void { this.#onClose = handler }
  onEstablished (handler: () => void): void { this.#onEstablished = handler }

  async close (force = false): Promise<void> {
    this.closedByClient = true
    this.closedForcibly = force
    if (this.#open) this.drop()
    else this.#connect?.reject(new Error('closed while connecting'))
  }

  // The test's side. accept() and refuse() may come before the client calls connect().
  accept (): void { this.#settle({ error: undefined }) }
  refuse (error: Error): void { this.#settle({ error }) }
  /** The network answered (the TCP handshake is done), the CONNACK not yet; accept() implies it. */
  establish (): void { this.#onEstablished() }

  #settle (outcome: { error: Error | undefined }): void {
    this.#outcome = outcome
    if (this.#connect === undefined) return
    if (outcome.error === undefined) {
      this.#onEstablished()
      // What the client wrote behind its CONNECT is seen first, as a QoS 0 publish.
      for (const pipelined of this.options.pipelined ?? []) this.publishes.push({ ...pipelined, qos: 0, resolve: () => {}, reject: () => {} })
      this.#connect.resolve()
      this.#changed()
    }
    else this.#connect.reject(outcome.error)
  }

  deliver (topic: string, payload: Uint8Array): void { this.#onMessage(topic, payload) }

  drop (error?: Error): void {
    if (!this.#open) return
    this.#open = false
    for (const p of this.publishes) p.reject(new Error('connection lost'))
    for (const s of [...this.subscribes, ...this.unsubscribes, ...this.pings]) s.reject(new Error('connection lost'))
    this.#onClose(error)
  }
}

/** A factory that keeps every transport it made, newest last. */
export function fakeTransports (): { factory: TransportFactory, made: FakeTransport[], waitFor: (count: number) => Promise<FakeTransport> } {
  const made: FakeTransport[] = []
  const waiters: Array<{ count: number, resolve: (t: FakeTransport) => void }> = []
  const factory: TransportFactory = (options) => {
    const transport = new FakeTransport(options)
    made.push(transport)
    for (const w of [...waiters]) {
      if (made.length >= w.count) {
        waiters.splice(waiters.indexOf(w), 1)
        w.resolve(made[w.count - 1]!)
      }
    }
    return transport
  }
  const waitFor = (count: number): Promise<FakeTransport> => new Promise((resolve) => {
    if (made.length >= count) resolve(made[count - 1]!)
    else waiters.push({ count, resolve })
  })
  return { factory, made, waitFor }
}
