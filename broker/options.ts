/**
 * Every option of `lowband start`, by flag and by environment variable. The single list from which
 * the CLI flags and the error messages are made, and which the README's configuration table mirrors.
 */
export interface OptionSpec {
  key: string
  flag: string
  env: string
  description: string
  /** Shown in help; the real default lives in the schema (config.ts). */
  defaultText?: string
  boolean?: boolean
  /** Never echoed in an error message. */
  secret?: boolean
}

export const START_OPTIONS: readonly OptionSpec[] = [
  { key: 'host', flag: '--host <address>', env: 'LOWBAND_HOST', description: 'address the listeners bind to', defaultText: '0.0.0.0' },
  { key: 'port', flag: '--port <port>', env: 'LOWBAND_PORT', description: 'MQTT over TCP port (0 = any free port)', defaultText: '1883' },
  { key: 'wsPort', flag: '--ws-port <port>', env: 'LOWBAND_WS_PORT', description: 'MQTT over WebSocket port, path /mqtt', defaultText: '8080' },
  { key: 'tlsPort', flag: '--tls-port <port>', env: 'LOWBAND_TLS_PORT', description: 'MQTT over TLS port (only with --tls-cert and --tls-key)', defaultText: '8883' },
  { key: 'tlsCert', flag: '--tls-cert <file>', env: 'LOWBAND_TLS_CERT', description: 'PEM certificate (chain) for the TLS listener' },
  { key: 'tlsKey', flag: '--tls-key <file>', env: 'LOWBAND_TLS_KEY', description: 'PEM private key for the TLS listener' },
  { key: 'httpPort', flag: '--http-port <port>', env: 'LOWBAND_HTTP_PORT', description: 'HTTP port for /healthz, /readyz and /metrics', defaultText: '9090' },
  { key: 'dataDir', flag: '--data-dir <dir>', env: 'LOWBAND_DATA_DIR', description: 'directory of the embedded store and the development secret', defaultText: './data' },
  { key: 'postgres', flag: '--postgres <url>', env: 'LOWBAND_POSTGRES_URL', description: 'keep the directory (users, devices, groups, contacts) in PostgreSQL; migrations run at start', secret: true },
  { key: 'jwtSecret', flag: '--jwt-secret <secret>', env: 'LOWBAND_JWT_SECRET', description: 'HS256 secret that signs device tokens (at least 16 characters)', secret: true },
  { key: 'jwtPublicKey', flag: '--jwt-public-key <file>', env: 'LOWBAND_JWT_PUBLIC_KEY', description: 'PEM public key (Ed25519 or RSA) that verifies device tokens' },
  { key: 'topicPolicy', flag: '--topic-policy <policy>', env: 'LOWBAND_TOPIC_POLICY', description: 'topics outside the chat namespace: deny | open (plain MQTT 3.1.1)', defaultText: 'deny' },
  { key: 'allowAnonymous', flag: '--allow-anonymous', env: 'LOWBAND_ALLOW_ANONYMOUS', description: 'accept clients without credentials (outside the chat namespace only)', defaultText: 'false', boolean: true },
  { key: 'maxPayload', flag: '--max-payload <bytes>', env: 'LOWBAND_MAX_PAYLOAD', description: 'largest accepted PUBLISH payload', defaultText: '65536' },
  { key: 'rateLimit', flag: '--rate-limit <per-second>', env: 'LOWBAND_RATE_LIMIT', description: 'sustained publishes per second per connection', defaultText: '50' },
  { key: 'rateBurst', flag: '--rate-burst <count>', env: 'LOWBAND_RATE_BURST', description: 'publishes a connection may send at once above the sustained rate', defaultText: '200' },
  { key: 'maxGroupSize', flag: '--max-group-size <members>', env: 'LOWBAND_MAX_GROUP_SIZE', description: 'most members a group may have (2-1024)', defaultText: '256' },
  { key: 'requireE2e', flag: '--require-e2e', env: 'LOWBAND_REQUIRE_E2E', description: 'refuse plaintext chat bodies: only end-to-end encrypted messages are stored', defaultText: 'false', boolean: true },
  { key: 'shutdownTimeout', flag: '--shutdown-timeout <seconds>', env: 'LOWBAND_SHUTDOWN_TIMEOUT', description: 'longest wait for in-flight stores on SIGTERM', defaultText: '10' },
  { key: 'logLevel', flag: '--log-level <level>', env: 'LOWBAND_LOG_LEVEL', description: 'fatal | error | warn | info | debug | trace | silent', defaultText: 'info' }
]
