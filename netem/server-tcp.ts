import { run } from './system.js'

/**
 * The kernel TCP settings README.md ("TCP settings for mobile links") recommends for a lowband
 * host, applied to the emulated server namespace (they are per network namespace), so the netem
 * report shows what a user who follows the README gets. The README's test checks they agree.
 */
export const SERVER_TCP_SYSCTLS: Readonly<Record<string, string>> = Object.freeze({
  // A connection idle for one RTO restarts from the initial window (RFC 2861): after every pause
  // in a chat, a burst would again crawl up in round trips.
  'net.ipv4.tcp_slow_start_after_idle': '0',
  // Keep at most 16 KiB unsent in the kernel per socket: the rest waits in the broker's queue,
  // where slow-consumer isolation sees it, instead of seconds deep in a 2G socket's buffer.
  'net.ipv4.tcp_notsent_lowat': '16384',
  // Give up on a peer that acknowledges nothing after ~100 s of retransmissions (default 15:
  // ~15 min) — a dead phone's connection and its session are dropped in bounded time.
  // Node has no TCP_USER_TIMEOUT socket option; this is the host-wide equivalent.
  'net.ipv4.tcp_retries2': '8',
  // TCP Fast Open, client and server (RFC 7413): a phone that reconnects sends its CONNECT in its
  // SYN and has the CONNACK and its backlog one round trip later, not two (broker/fast-open.ts).
  'net.ipv4.tcp_fastopen': '3'
})

/** Applies SERVER_TCP_SYSCTLS inside network namespace `ns`. */
export async function applyServerTcpSettings (ns: string): Promise<void> {
  await run('ip', ['netns', 'exec', ns, 'sysctl', '-qw', ...Object.entries(SERVER_TCP_SYSCTLS).map(([key, value]) => `${key}=${value}`)])
}
