import { Option } from 'commander'
import { showDefault } from '../bin/usage.js'

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

/** The commander option of a start option, its default and variable shown in help the one way (bin/usage.ts). */
export function startOption (spec: OptionSpec): Option {
  const option = new Option(spec.flag, spec.description).env(spec.env)
  return spec.defaultText === undefined ? option : showDefault(option, spec.defaultText)
}

export const START_OPTIONS: readonly OptionSpec[] = [
  { key: 'host', flag: '--host <address>', env: 'LOWBAND_HOST', description: 'address the listeners bind to', defaultText: '0.0.0.0' },
  { key: 'port', flag: '--port <port>', env: 'LOWBAND_PORT', description: 'MQTT over TCP port (0 = any free port)', defaultText: '1883' },
  { key: 'wsPort', flag: '--ws-port <port>', env: 'LOWBAND_WS_PORT', description: 'MQTT over WebSocket port, path /mqtt', defaultText: '8080' },
  { key: 'tlsPort', flag: '--tls-port <port>', env: 'LOWBAND_TLS_PORT', description: 'MQTT over TLS port (only with --tls-cert and --tls-key)', defaultText: '8883' },
  { key: 'tlsCert', flag: '--tls-cert <file>', env: 'LOWBAND_TLS_CERT', description: 'PEM certificate (chain) for the TLS listener' },
  { key: 'tlsKey', flag: '--tls-key <file>', env: 'LOWBAND_TLS_KEY', description: 'PEM private key for the TLS listener' },
  { key: 'httpPort', flag: '--http-port <port>', env: 'LOWBAND_HTTP_PORT', description: 'HTTP port for /healthz, /readyz, /metrics and the web chat page at /', defaultText: '9090' },
  { key: 'web', flag: '--no-web', env: 'LOWBAND_WEB', description: 'do not serve the web chat page at / on the HTTP port (LOWBAND_WEB=false does the same)', boolean: true },
  { key: 'dataDir', flag: '--data-dir <dir>', env: 'LOWBAND_DATA_DIR', description: 'directory of the embedded store and the development secret', defaultText: './data' },
  { key: 'postgres', flag: '--postgres <url>', env: 'LOWBAND_POSTGRES_URL', description: 'keep messages and the directory (users, devices, groups, contacts) in PostgreSQL, shared by any number of brokers; migrations run at start', secret: true },
  { key: 'redis', flag: '--redis <url>', env: 'LOWBAND_REDIS_URL', description: 'join a cluster of nodes through Redis (cross-node delivery, presence, group order); needs --postgres and --node-id', secret: true },
  { key: 'nodeId', flag: '--node-id <id>', env: 'LOWBAND_NODE_ID', description: 'this node\'s fixed name in the cluster (1-64 of A-Z a-z 0-9 . _ -); keep it across restarts' },
  { key: 'clusterName', flag: '--cluster-name <name>', env: 'LOWBAND_CLUSTER_NAME', description: 'prefix of the cluster\'s Redis keys and channels: several clusters can share one Redis', defaultText: 'lowband' },
  { key: 'nodeHeartbeat', flag: '--node-heartbeat <seconds>', env: 'LOWBAND_NODE_HEARTBEAT', description: 'how often a cluster node says it is alive; a silent node\'s devices go offline within twice this', defaultText: '10' },
  { key: 'cassandra', flag: '--cassandra <hosts>', env: 'LOWBAND_CASSANDRA', description: 'keep messages in Cassandra (or ScyllaDB) at these comma-separated contact points (host or host:port); the directory stays in PostgreSQL with --postgres, else in the embedded store; needs --cassandra-keyspace' },
  { key: 'cassandraKeyspace', flag: '--cassandra-keyspace <name>', env: 'LOWBAND_CASSANDRA_KEYSPACE', description: 'keyspace of the Cassandra message store (created by the operator; its tables are created at start)' },
  { key: 'cassandraDatacenter', flag: '--cassandra-datacenter <name>', env: 'LOWBAND_CASSANDRA_DATACENTER', description: 'the local datacenter of the Cassandra driver\'s load balancing', defaultText: 'datacenter1' },
  { key: 'cassandraConsistency', flag: '--cassandra-consistency <level>', env: 'LOWBAND_CASSANDRA_CONSISTENCY', description: 'consistency of every Cassandra statement: one | localOne | localQuorum | quorum | eachQuorum | all (LWTs run their Paxos phase at SERIAL)', defaultText: 'localQuorum' },
  { key: 'jwtSecret', flag: '--jwt-secret <secret>', env: 'LOWBAND_JWT_SECRET', description: 'HS256 secret that signs device tokens (at least 16 characters)', secret: true },
  { key: 'jwtPublicKey', flag: '--jwt-public-key <file>', env: 'LOWBAND_JWT_PUBLIC_KEY', description: 'PEM public key (Ed25519 or RSA) that verifies device tokens' },
  { key: 'topicPolicy', flag: '--topic-policy <policy>', env: 'LOWBAND_TOPIC_POLICY', description: 'topics outside the chat namespace: deny | open (plain MQTT 3.1.1)', defaultText: 'deny' },
  { key: 'acl', flag: '--acl <file>', env: 'LOWBAND_ACL', description: 'Mosquitto-style ACL file for topics outside the chat namespace (needs --topic-policy open)' },
  { key: 'allowAnonymous', flag: '--allow-anonymous', env: 'LOWBAND_ALLOW_ANONYMOUS', description: 'accept clients without credentials (outside the chat namespace only)', defaultText: 'false', boolean: true },
  { key: 'maxPayload', flag: '--max-payload <bytes>', env: 'LOWBAND_MAX_PAYLOAD', description: 'largest accepted PUBLISH payload (a number, or with KiB / MiB)', defaultText: '64KiB' },
  { key: 'rateLimit', flag: '--rate-limit <per-second>', env: 'LOWBAND_RATE_LIMIT', description: 'sustained publishes per second per connection', defaultText: '50' },
  { key: 'rateBurst', flag: '--rate-burst <count>', env: 'LOWBAND_RATE_BURST', description: 'publishes a connection may send at once above the sustained rate', defaultText: '200' },
  { key: 'rateBytes', flag: '--rate-bytes <bytes-per-second>', env: 'LOWBAND_RATE_BYTES', description: 'sustained payload bytes per second per connection (a number, or with KiB / MiB)', defaultText: '64KiB' },
  { key: 'rateBytesBurst', flag: '--rate-bytes-burst <bytes>', env: 'LOWBAND_RATE_BYTES_BURST', description: 'payload bytes a connection may send at once above that; at least --max-payload', defaultText: '1MiB' },
  { key: 'maxQueuedBytes', flag: '--max-queued-bytes <bytes>', env: 'LOWBAND_MAX_QUEUED_BYTES', description: 'outgoing backlog a connection may have before it is closed (it resumes from the store)', defaultText: '1MiB' },
  { key: 'maxConnections', flag: '--max-connections <count>', env: 'LOWBAND_MAX_CONNECTIONS', description: 'open MQTT connections (TCP, TLS and WebSocket together); more are closed at once', defaultText: 'the open-files limit minus 1024' },
  { key: 'maxPending', flag: '--max-pending <count>', env: 'LOWBAND_MAX_PENDING', description: 'connections not yet authenticated, every address and listener together; more are closed at once, before they cost more than their accept', defaultText: '4096' },
  { key: 'maxPendingPerIp', flag: '--max-pending-per-ip <count>', env: 'LOWBAND_MAX_PENDING_PER_IP', description: 'connections from one address (IPv6: one /64) not yet authenticated; more are closed at once', defaultText: '128' },
  { key: 'connectTimeout', flag: '--connect-timeout <seconds>', env: 'LOWBAND_CONNECT_TIMEOUT', description: 'longest time from accepting a connection to its authenticated CONNECT (TLS handshake included)', defaultText: '10' },
  { key: 'acceptProcess', flag: '--no-accept-process', env: 'LOWBAND_ACCEPT_PROCESS', description: 'accept connections in the broker process itself instead of a child process that holds each one until its first bytes (LOWBAND_ACCEPT_PROCESS=false does the same)', boolean: true },
  { key: 'maxGroupSize', flag: '--max-group-size <members>', env: 'LOWBAND_MAX_GROUP_SIZE', description: 'most members a group may have (2-1024)', defaultText: '256' },
  { key: 'fcmServiceAccount', flag: '--fcm-service-account <file>', env: 'LOWBAND_FCM_SERVICE_ACCOUNT', description: 'Firebase service-account JSON: push through FCM (without it, pushes are only logged at debug level)' },
  { key: 'pushGrace', flag: '--push-grace <seconds>', env: 'LOWBAND_PUSH_GRACE', description: 'push a connected device that has not acknowledged a message after this long', defaultText: '10' },
  { key: 'pushWindow', flag: '--push-window <seconds>', env: 'LOWBAND_PUSH_WINDOW', description: 'at most one push per device and conversation per this many seconds', defaultText: '30' },
  { key: 'pushTtl', flag: '--push-ttl <seconds>', env: 'LOWBAND_PUSH_TTL', description: 'how long FCM keeps a push for a phone that is off', defaultText: '86400' },
  { key: 'pushPriorityDirect', flag: '--push-priority-direct <priority>', env: 'LOWBAND_PUSH_PRIORITY_DIRECT', description: 'push priority of 1:1 messages (Android, web): high | normal', defaultText: 'high' },
  { key: 'pushPriorityGroup', flag: '--push-priority-group <priority>', env: 'LOWBAND_PUSH_PRIORITY_GROUP', description: 'push priority of group messages (Android, web): high | normal', defaultText: 'normal' },
  { key: 'pushQueue', flag: '--push-queue <pushes>', env: 'LOWBAND_PUSH_QUEUE', description: 'pushes waiting to be sent or retried, at most (the oldest are dropped past it)', defaultText: '10000' },
  { key: 'receiptWindow', flag: '--receipt-window <ms>', env: 'LOWBAND_RECEIPT_WINDOW', description: 'longest a delivered receipt waits to be coalesced with later deliveries in its conversation (0-10000; 0 = none)', defaultText: '50' },
  { key: 'requireE2e', flag: '--require-e2e', env: 'LOWBAND_REQUIRE_E2E', description: 'refuse plaintext chat bodies: only end-to-end encrypted messages are stored', defaultText: 'false', boolean: true },
  { key: 'shutdownTimeout', flag: '--shutdown-timeout <seconds>', env: 'LOWBAND_SHUTDOWN_TIMEOUT', description: 'longest wait for in-flight stores on SIGTERM', defaultText: '10' },
  { key: 's3Bucket', flag: '--s3-bucket <name>', env: 'LOWBAND_S3_BUCKET', description: 'object storage bucket for media (photos, voice notes, files); without it media requests get MEDIA_NOT_CONFIGURED' },
  { key: 's3Endpoint', flag: '--s3-endpoint <url>', env: 'LOWBAND_S3_ENDPOINT', description: 'S3 API endpoint (MinIO, Ceph RGW, R2, ...); default AWS S3' },
  { key: 's3Region', flag: '--s3-region <region>', env: 'LOWBAND_S3_REGION', description: 'S3 region', defaultText: 'AWS_REGION, else us-east-1' },
  { key: 's3ForcePathStyle', flag: '--s3-force-path-style', env: 'LOWBAND_S3_FORCE_PATH_STYLE', description: 'address objects as endpoint/bucket/key (MinIO and most self-hosted S3)', defaultText: 'false', boolean: true },
  { key: 's3AccessKeyId', flag: '--s3-access-key-id <id>', env: 'LOWBAND_S3_ACCESS_KEY_ID', description: 'S3 access key id (default: the standard AWS chain, AWS_ACCESS_KEY_ID, profiles, roles)', secret: true },
  { key: 's3SecretAccessKey', flag: '--s3-secret-access-key <secret>', env: 'LOWBAND_S3_SECRET_ACCESS_KEY', description: 'S3 secret access key, with --s3-access-key-id', secret: true },
  { key: 'mediaMaxBytes', flag: '--media-max-bytes <bytes>', env: 'LOWBAND_MEDIA_MAX_BYTES', description: 'largest media blob a device may upload', defaultText: '16777216' },
  { key: 'mediaTypes', flag: '--media-types <list>', env: 'LOWBAND_MEDIA_TYPES', description: 'media types a device may upload, comma-separated; type/* and */* allowed', defaultText: 'image/*,audio/*,video/*,application/*,text/plain' },
  { key: 'mediaUrlTtl', flag: '--media-url-ttl <seconds>', env: 'LOWBAND_MEDIA_URL_TTL', description: 'how long a presigned upload or download URL works', defaultText: '900' },
  { key: 'logLevel', flag: '--log-level <level>', env: 'LOWBAND_LOG_LEVEL', description: 'fatal | error | warn | info | debug | trace | silent', defaultText: 'info' }
]
