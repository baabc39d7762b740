import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'
import type { ChatMetrics } from '../hooks/index.js'
import type { PushMetrics } from '../push/index.js'

/** Why the broker closed a connection to protect the others (the `reason` label of lowband_connections_closed_total). */
export type CloseReason = 'backlog' | 'connect_timeout' | 'max_connections' | 'max_pending' | 'pending_per_ip'

/** Accepted MQTT sockets now, and of them those not yet authenticated (broker/connection-gate.ts). */
export interface SocketCounts { open: number, pending: number }

/** Prometheus metrics of one broker process, served on /metrics. */
export function createMetrics (): { registry: Registry, chat: ChatMetrics, push: PushMetrics, closed: (reason: CloseReason, count?: number) => void, watchSockets: (counts: () => SocketCounts, refresh?: () => Promise<void>) => void } {
  const registry = new Registry()
  collectDefaultMetrics({ register: registry, prefix: 'lowband_' })
  const connections = new Gauge({ name: 'lowband_connections', help: 'connected MQTT clients', registers: [registry] })
  const stored = new Counter({ name: 'lowband_messages_stored_total', help: 'chat messages durably stored', registers: [registry] })
  const duplicates = new Counter({ name: 'lowband_messages_duplicate_total', help: 'resends recognised and not stored again', registers: [registry] })
  const storeSeconds = new Histogram({
    name: 'lowband_store_seconds',
    help: 'time from a send reaching the store to being durable',
    buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 1],
    registers: [registry]
  })
  const rejected = new Counter({ name: 'lowband_rejected_total', help: 'publishes refused with a coded error', labelNames: ['code'], registers: [registry] })
  const authFailures = new Counter({ name: 'lowband_auth_failures_total', help: 'refused connections', labelNames: ['reason'], registers: [registry] })
  const pushCandidates = new Counter({ name: 'lowband_push_candidates_total', help: 'message recipients with no connected device (push fallback)', registers: [registry] })
  const push = {
    sent: new Counter({ name: 'lowband_push_sent_total', help: 'pushes the push service accepted', registers: [registry] }),
    coalesced: new Counter({ name: 'lowband_push_coalesced_total', help: 'stored messages folded into a push already pending or sent within the window', registers: [registry] }),
    failed: new Counter({ name: 'lowband_push_failed_total', help: 'pushes given up: rejected by the service, out of retries, or dropped from a full queue', labelNames: ['reason'], registers: [registry] }),
    retried: new Counter({ name: 'lowband_push_retried_total', help: 'push sends retried after a 429, a 5xx or a network error', registers: [registry] }),
    pruned: new Counter({ name: 'lowband_push_tokens_pruned_total', help: 'push tokens removed because the push service called them dead', registers: [registry] })
  }
  let sockets: () => SocketCounts = () => ({ open: 0, pending: 0 })
  /** Brings the counts of another process (the accept process) up to date before a scrape reads them. */
  let refreshSockets = async (): Promise<void> => {}
  const closed = new Counter({
    name: 'lowband_connections_closed_total',
    help: 'connections the broker closed or refused to protect the others: outgoing backlog over --max-queued-bytes, no CONNECT in time, over --max-connections, --max-pending or --max-pending-per-ip',
    labelNames: ['reason'],
    registers: [registry],
    collect: () => refreshSockets()
  })
  new Gauge({
    name: 'lowband_sockets',
    help: 'accepted MQTT sockets (TCP, TLS, WebSocket): open, and of them pending (not yet authenticated)',
    labelNames: ['state'],
    registers: [registry],
    async collect () {
      await refreshSockets()
      const now = sockets()
      this.set({ state: 'open' }, now.open)
      this.set({ state: 'pending' }, now.pending)
    }
  })
  return {
    registry,
    closed: (reason, count = 1) => closed.inc({ reason }, count),
    watchSockets: (counts, refresh) => {
      sockets = counts
      if (refresh !== undefined) refreshSockets = refresh
    },
    push: {
      sent: () => push.sent.inc(),
      coalesced: () => push.coalesced.inc(),
      failed: (reason) => push.failed.inc({ reason }),
      retried: () => push.retried.inc(),
      pruned: () => push.pruned.inc()
    },
    chat: {
      stored: (seconds) => { stored.inc(); storeSeconds.observe(seconds) },
      duplicate: () => duplicates.inc(),
      rejected: (code) => rejected.inc({ code: String(code) }),
      connected: (delta) => connections.inc(delta),
      authFailed: (reason) => authFailures.inc({ reason }),
      pushCandidates: (count) => pushCandidates.inc(count)
    }
  }
}
