/**
 * The broker URLs of a cluster, tried in turn: each connection attempt — the first, and every one
 * after a failure or a lost connection — takes the next, so a device whose node died reaches
 * another on its next attempt. The first is picked at random, so devices spread over the nodes.
 */
export class BrokerUrls {
  readonly #urls: readonly string[]
  #next: number

  constructor (urls: readonly string[], random: () => number) {
    this.#urls = urls
    // One URL leaves the random sequence alone (it also drives the backoff jitter).
    this.#next = urls.length === 1 ? 0 : Math.floor(random() * urls.length) % urls.length
  }

  next (): string {
    const url = this.#urls[this.#next]!
    this.#next = (this.#next + 1) % this.#urls.length
    return url
  }
}
