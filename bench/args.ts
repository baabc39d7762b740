import { isStoredBaseline, STORED_BASELINES, type StoredBaseline } from './baseline-hooks.js'

export const SECTIONS = ['throughput', 'memory', 'bytes', 'fanout', 'profile', 'soak', 'push', 'abuse'] as const
export type Section = typeof SECTIONS[number]

export interface BenchArgs {
  json: boolean
  quick: boolean
  only: readonly Section[]
  /** Brokers to compare in throughput and memory (lowband is always measured; the stored baselines only in throughput). */
  brokers: ReadonlyArray<'aedes' | 'mosquitto' | StoredBaseline>
  /** Where to save lowband's .cpuprofile from the profile section. */
  profileOut?: string
  /** Print the table of a saved `--json` report instead of running. */
  render?: string
  /** Also save the JSON report in this directory, named by date, commit and sections. */
  save?: string
  /** Memory: hold the connections with this many cluster nodes (Redis + PostgreSQL from scripts/services.sh). */
  nodes?: number
  /** Memory: this many connections, one level, instead of the default levels. */
  connections?: number
  /** Throughput (and profile, soak) with end-to-end-encrypted-size opaque bodies instead of plaintext. */
  encrypted: boolean
  /** Throughput: also measure lowband with its messages in this store (a private server started for the run). */
  store?: 'postgres'
  /** Throughput: also lowband as one and two cluster nodes on PostgreSQL + Redis, and cross-node latency. */
  cluster: boolean
}

const USAGE = `usage: npm run bench -- [--json] [--quick] [--only ${SECTIONS.join(',')}] [--without aedes,mosquitto] [--with aedes-durable,aedes-protocol] [--profile-out FILE] [--render FILE] [--save DIR] [--store postgres] [--cluster] [--nodes N] [--connections C]
  --json      print one JSON object instead of the table (progress goes to stderr either way)
  --quick     a short smoke run: fewer and shorter steps, 1k/3k idle connections, 50 fan-out messages, a 9 s soak,
              100 sleeping phones × 10 messages in 2 s for push
              5 s abuse phases against a 2000-connection cap
  --only      run just these sections (default: all)
  --without   leave out reference brokers
  --with      also measure stored baselines (throughput only): aedes-durable, plain Aedes storing each
              QoS 1 payload in LevelDB before its PUBACK; aedes-protocol, plain Aedes doing lowband's
              wire and disk round trips (stored-ack; per conversation and receipt window, one put
              and one delivered receipt) and nothing else
  --profile-out  save lowband's .cpuprofile from the profile section (open it in Chrome DevTools)
  --encrypted the chat load sends end-to-end encrypted messages (kind 3, one opaque steady-state-sized
              copy for the recipient's device; keys published first), to compare with plaintext
  --store     throughput: also measure lowband with messages in PostgreSQL (a private
              server, fsync on, initialised and started for each broker run as the postgres user; needs root
              and Debian's postgresql), beside lowband on the embedded store
  --cluster   throughput: also lowband on PostgreSQL + Redis (private servers, started for each broker run)
              as one cluster node, and as two nodes with the senders on one and the recipients on the
              other (every delivery crosses nodes), each beside the embedded single node; then the same
              light load (200 msg/s) same-node vs cross-node for the latency crossing adds; CPU per
              message of each part (nodes, PostgreSQL, Redis) from /proc at half the maximum
  --nodes     memory: N cluster nodes (lowband start --redis --postgres; services from scripts/services.sh)
              hold the connections together, e.g. --only memory --nodes 6 for 100 000 (the default with --nodes);
              read right after the connect storm and once RSS stopped falling (V8's memory reducer; the
              judged figure), each node split into V8 heap used / committed / external / rest of RSS
  --connections  memory: this many idle connections, one level (e.g. 3000 for a short check)
  --render    print the table of a report saved with --json, without running anything
  --save      also write the JSON report to DIR/<date>-<commit>-<sections>.json (docs/bench holds the
              runs behind every published figure)`

/** Parses the arguments after `npm run bench --`; an unknown one prints the usage and exits 2. */
export function parseArgs (argv: readonly string[]): BenchArgs {
  const args: { -readonly [K in keyof BenchArgs]: BenchArgs[K] } = { json: false, quick: false, only: [...SECTIONS], brokers: ['aedes', 'mosquitto'], encrypted: false, cluster: false }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!
    const value = (): string => {
      const next = arg.includes('=') ? arg.slice(arg.indexOf('=') + 1) : argv[++i]
      if (next === undefined) fail(`${arg} needs a value`)
      return next
    }
    if (arg === '--json') args.json = true
    else if (arg === '--quick') args.quick = true
    else if (arg === '--encrypted') args.encrypted = true
    else if (arg === '--cluster') args.cluster = true
    else if (arg === '--help' || arg === '-h') { process.stdout.write(`${USAGE}\n`); process.exit(0) } else if (arg.startsWith('--only')) {
      const names = value().split(',').map((s) => s.trim()).filter((s) => s !== '')
      const unknown = names.find((name) => !(SECTIONS as readonly string[]).includes(name))
      if (unknown !== undefined) fail(`unknown section ${unknown}`)
      args.only = names as Section[]
    } else if (arg.startsWith('--without')) {
      const left = value().split(',').map((s) => s.trim())
      args.brokers = args.brokers.filter((b) => !left.includes(b))
    } else if (arg.startsWith('--with')) {
      const added = value().split(',').map((s) => s.trim())
      const unknown = added.find((name) => !isStoredBaseline(name))
      if (unknown !== undefined) fail(`unknown broker ${unknown} for --with (${Object.keys(STORED_BASELINES).join(', ')})`)
      args.brokers = [...new Set([...args.brokers, ...added as StoredBaseline[]])]
    } else if (arg.startsWith('--store')) {
      const store = value()
      if (store !== 'postgres') fail(`unknown store ${store} for --store (postgres)`)
      args.store = store
    } else if (arg.startsWith('--save')) {
      args.save = value()
    } else if (arg.startsWith('--render')) {
      args.render = value()
    } else if (arg.startsWith('--nodes')) {
      args.nodes = positive(arg, value())
    } else if (arg.startsWith('--connections')) {
      args.connections = positive(arg, value())
    } else if (arg.startsWith('--profile-out')) {
      args.profileOut = value()
    } else fail(`unknown argument ${arg}`)
  }
  return args
}

function positive (arg: string, text: string): number {
  const n = Number(text)
  if (!Number.isSafeInteger(n) || n < 1) fail(`${arg} needs a whole number ≥ 1, got ${text}`)
  return n
}

function fail (message: string): never {
  process.stderr.write(`bench: ${message}\n${USAGE}\n`)
  process.exit(2)
}
