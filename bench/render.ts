import { CLIENT_MSG_ID_BYTES } from '../protocol/envelopes.js'
import { BYTES_GOALS } from './bytes.js'
import { recipientOverhead } from './bytes-e2e.js'
import type { Exchange } from './bytes-lowband.js'
import type { CostLine } from './cpu-profile.js'
import type { MemoryReport, MemoryUsage } from './memory.js'
import { BUSY_LOAD_AVERAGE } from './machine.js'
import { describePacket, type WirePacket } from './packet-labels.js'
import type { BenchReport } from './report.js'
import { embeddedLowband, throughputLabel, type BrokerThroughput, type StepOutcome } from './throughput.js'
import { renderTable } from './table.js'

/** The human-readable report: one heading and table per section, then the goals. */
export function renderReport (report: BenchReport): string {
  const m = report.machine
  const out: string[] = [
    `lowband bench — ${report.command}${report.quick ? ' (quick: smoke figures only)' : ''}`,
    `machine: ${m.cpuModel}, ${m.cores} cores, ${m.memoryGiB} GiB (${m.freeMemoryGiB} free), Linux ${m.kernel}, Node ${m.node}, aedes ${m.aedes}, ${m.mosquitto}`,
    `load average at start: ${m.loadAverage1m}${m.loadAverage1m > BUSY_LOAD_AVERAGE ? ' — busy machine: other work was running, figures are noisy' : ''} · ${m.date} · commit ${m.commit ?? 'unknown'} · run took ${report.durationSeconds} s`
  ]
  if (report.throughput !== undefined) out.push('', ...throughput(report))
  if (report.memory !== undefined) out.push('', ...memory(report))
  if (report.bytes !== undefined) out.push('', ...bytes(report))
  if (report.fanout !== undefined) out.push('', ...fanout(report))
  if (report.profile !== undefined) out.push('', ...profile(report))
  if (report.soak !== undefined) out.push('', ...soak(report))
  if (report.push !== undefined) out.push('', ...push(report))
  if (report.abuse !== undefined) out.push('', ...abuse(report))
  if (report.goals.length > 0) {
    out.push('', '## Goals', renderTable(['goal', 'target', 'measured', 'met'], report.goals.map((g) => [g.name, g.target, g.value, g.met ? 'yes' : 'NO'])))
  }
  for (const { section, error } of report.errors) out.push('', `!! ${section} failed: ${error}`)
  return out.join('\n')
}

function throughput (report: BenchReport): string[] {
  const t = report.throughput!
  const base = t.results.find((r) => r.kind === 'aedes')
  const times = (value: number, of: number | undefined): string => of === undefined || of === 0 ? '–' : `${(value / of).toFixed(2)}×`
  const summary = renderTable(
    ['broker', 'max msg/s', 'vs aedes', 'limited by', 'p50 ms @50%', 'vs aedes', 'p99 ms @50%', 'vs aedes', 'broker CPU @max'],
    t.results.map((r) => {
      const max = r.steps.filter((s) => s.sustained).at(-1)
      const maxText = max?.firstTry === undefined ? r.maxSustained : `${r.maxSustained} (2nd try)`
      return [throughputLabel(r), maxText, times(r.maxSustained, base?.maxSustained), r.limitedBy,
        r.atHalf.latency.p50Ms, times(r.atHalf.latency.p50Ms, base?.atHalf.latency.p50Ms),
        r.atHalf.latency.p99Ms, times(r.atHalf.latency.p99Ms, base?.atHalf.latency.p99Ms), max === undefined ? '–' : `${max.brokerCpuPct} %`]
    }))
  const sameRate = atLowbandHalf(t.results)
  const steps = renderTable(
    ['broker', 'offered/s', 'delivered/s', 'delivered %', 'p50 ms', 'p99 ms', 'CPU broker %', 'generator %', 'machine %', 'step'],
    t.results.flatMap((r) => r.steps.map((s) => [throughputLabel(r), s.offeredRate, Math.round(s.deliveredRate), (s.deliveredShare * 100).toFixed(1),
      s.latency.p50Ms, s.latency.p99Ms, s.brokerCpuPct, s.generatorCpuPct, s.machineCpuPct, stepVerdict(s)])))
  return [
    `## 1. Durable 1:1 chat: throughput and latency (${t.pairs} pairs = ${t.clients} clients, QoS 1, ${t.generatorProcesses} generator processes${t.settings.encrypted === true ? '; end-to-end encrypted bodies' : ''})`,
    summary,
    '(@50%: each broker at half of its own maximum.)',
    ...sameRate,
    '',
    `Load steps (${t.settings.stepMs} ms each; sustained = offered rate sent, ≥ 99 % delivered within ${t.settings.graceMs} ms after the step, p99 ≤ ${t.p99LimitMs} ms;`,
    'CPU over the offering window: broker and busiest generator in % of one core, machine in % of all cores):',
    steps,
    ...cluster(report)
  ]
}

/** `--cluster`: each setup beside the embedded single node, CPU per message of each part, and what crossing nodes adds. */
function cluster (report: BenchReport): string[] {
  const t = report.throughput!
  const embedded = embeddedLowband(t.results)
  const nodes = t.results.filter((r) => r.cluster !== undefined)
  if (nodes.length === 0 && t.crossNode === undefined) return []
  const perCore = (us: number | undefined): string => us === undefined || us === 0 ? '–' : `${us} µs (${Math.round(1_000_000 / us)}/s)`
  const rows = [...(embedded === undefined ? [] : [embedded]), ...nodes].map((r) => {
    const cpu = r.atHalf.cpuUsPerMessage
    return [throughputLabel(r), r.maxSustained, embedded === undefined || embedded.maxSustained === 0 ? '–' : `${(r.maxSustained / embedded.maxSustained).toFixed(2)}×`,
      r.atHalf.latency.p50Ms, r.atHalf.latency.p99Ms, perCore(cpu?.nodes), perCore(cpu?.postgres), perCore(cpu?.redis)]
  })
  const out = ['', 'Cluster (PostgreSQL fsync on and Redis, private servers per run; "cross-node": senders on node 1, recipients on node 2, so every delivery crosses nodes).',
    'CPU per message at half the maximum, from /proc/<pid>/stat (utime + stime) ÷ messages sent: in µs, and the msg/s one core of that part carries:',
    renderTable(['lowband', 'max msg/s', 'vs embedded', 'p50 ms @50%', 'p99 ms @50%', 'CPU/msg nodes', 'CPU/msg PostgreSQL', 'CPU/msg Redis'], rows)]
  const c = t.crossNode
  if (c !== undefined) {
    out.push('', `Cross-node delivery, 2 nodes, ${c.rate} msg/s: p50 ${c.sameNode.p50Ms} ms same-node, ${c.crossNode.p50Ms} ms cross-node (+${c.addedP50Ms} ms); p99 ${c.sameNode.p99Ms} vs ${c.crossNode.p99Ms} ms`)
  }
  return out
}

/** A load step's outcome as the table shows it, saying when it took a second try. */
export function stepVerdict (s: StepOutcome): string {
  if (s.firstTry === undefined) return s.sustained ? 'sustained' : `failed: ${s.failure ?? ''}`
  return s.sustained ? `sustained on 2nd try (1st failed: ${s.firstTry.failure ?? ''})` : `failed twice: ${s.firstTry.failure ?? ''}, ${s.failure ?? ''}`
}

function memory (report: BenchReport): string[] {
  const r = report.memory!
  const rows = r.results.flatMap((b) => b.levels.map((l) => [`${b.kind}${b.clean ? ' (clean sessions)' : ''}`, l.connections, (b.baselineRssBytes / 2 ** 20).toFixed(1), (l.rssBytes / 2 ** 20).toFixed(1),
    (l.perConnectionBytes / 1024).toFixed(2), l.marginalBytes === undefined ? '–' : (l.marginalBytes / 1024).toFixed(2),
    l.heapPerConnectionBytes === undefined ? '–' : (l.heapPerConnectionBytes / 1024).toFixed(2), l.connectSeconds, l.failed]))
  return [
    `## 2. Memory per idle authenticated connection (broker RSS growth ÷ connections; persistent sessions unless marked)${r.nodes === undefined ? '' : `, held by ${r.nodes} cluster nodes on one Redis and PostgreSQL (their RSS together)`}`,
    renderTable(['broker', 'connections', 'RSS before MiB', 'RSS MiB', 'KiB per conn', 'KiB marginal', 'of it V8 heap KiB', 'connect s', 'failed'], rows),
    ...r.results.flatMap((b) => b.levels.flatMap((l) => l.afterStorm === undefined ? [] : [`right after the connect storm: ${(l.afterStorm.perConnectionBytes / 1024).toFixed(2)} KiB per connection (RSS ${(l.afterStorm.rssBytes / 2 ** 20).toFixed(1)} MiB); the figure above once RSS stopped falling, ${l.settledAfterSeconds ?? '?'} s later (V8's memory reducer)`])),
    ...nodeRows(r),
    ...(r.skipped === undefined ? [] : [`note: ${r.skipped}`])
  ]
}

/** `--nodes N`: each node's growth per connection right after the storm and settled, split into V8 heap and the rest of its RSS. */
function nodeRows (r: MemoryReport): string[] {
  const nodes = r.results.flatMap((b) => b.levels.flatMap((l) => l.nodes ?? []))
  if (nodes.length === 0) return []
  const rows = nodes.flatMap((n) => (['afterStorm', 'settled'] as const).map((stage) => {
    const kib = (pick: (u: MemoryUsage) => number): string => ((pick(n[stage]) - pick(n.before)) / Math.max(1, n.connections) / 1024).toFixed(2)
    return [n.node, stage === 'afterStorm' ? 'right after the storm' : 'settled', n.connections, (n[stage].rss / 2 ** 20).toFixed(1), kib((u) => u.rss), kib((u) => u.heapUsed),
      kib((u) => u.heapTotal - u.heapUsed), kib((u) => u.external), kib((u) => u.rss - u.heapTotal - u.external)]
  }))
  return ['', renderTable(['node', 'read', 'connections', 'RSS MiB', 'KiB per conn: RSS', 'V8 heap used', 'V8 committed unused', 'external', 'rest of RSS'], rows)]
}

function bytes (report: BenchReport): string[] {
  const b = report.bytes!
  const row = (name: string, e: Exchange): Array<string | number> => [name, e.sender.up, e.sender.down, e.recipient.up, e.recipient.down, e.total]
  const floorBy = (device: string, direction: string): number => b.floor.packets.filter((p) => p.device === device && p.direction === direction).reduce((s, p) => s + p.bytes, 0)
  const burst = b.lowband.burst
  const table = renderTable(['figure', 'sender ↑', 'sender ↓', 'recipient ↑', 'recipient ↓', 'total B'], [
    row('lowband: 20-byte text 1:1, end to end', b.lowband.message),
    ...(burst === undefined ? [] : [row(`lowband: ${burst.messages} such texts at once, end to end`, burst.exchange)]),
    row('lowband: read watermark + receipt', b.lowband.read),
    row('lowband: typing signal', b.lowband.typing),
    ...(b.lowband.encrypted === undefined
      ? []
      : [
          row(`lowband E2E: first message of a session (+${recipientOverhead(b.lowband.encrypted.first, b.lowband.message)} B recipient)`, b.lowband.encrypted.first),
          row(`lowband E2E: steady state, same chain (+${recipientOverhead(b.lowband.encrypted.steady, b.lowband.message)} B recipient)`, b.lowband.encrypted.steady),
          row(`lowband E2E: first after a reply, new ratchet key (+${recipientOverhead(b.lowband.encrypted.turn, b.lowband.message)} B recipient)`, b.lowband.encrypted.turn)
        ]),
    row('seed JSON/WebSocket: send + response + delivery', b.json.message),
    row('seed JSON/WebSocket: delivered status + response', b.json.deliveredStatus),
    ['MQTT floor (computed)', floorBy('alice', 'up'), floorBy('alice', 'down'), floorBy('bob', 'up'), floorBy('bob', 'down'), b.floor.total],
    ...(b.media === undefined
      ? []
      : [row(`lowband: media message, ${Math.round(b.media.blobBytes / 1024)} KB photo (${b.media.refBytes}-byte MediaRef, no thumbnail), end to end`, b.media.message),
          row('lowband: media upload slot request (answer: a presigned URL)', b.media.upload),
          row('lowband: media download request (answer: a presigned URL)', b.media.download)])
  ])
  const list = (title: string, packets: readonly WirePacket[]): string[] => [title, ...packets.map((p) => `  - ${describePacket(p)}`)]
  return [
    `## 3. Bytes on the wire per message (counted at TCP proxies; ${b.textBytes}-byte text; ↑ = device → broker)`,
    table,
    '',
    renderTable(['ratio', 'value', 'goal'], [
      ['lowband message ÷ seed JSON (send + response + delivery)', `${b.ratios.messageVsJson}×`, `≤ ${BYTES_GOALS.messageVsJson}×`],
      ['lowband message ÷ seed JSON with its delivered status call', `${b.ratios.messageVsJsonWithStatus}×`, '–'],
      ...(b.ratios.burstVsJson === undefined ? [] : [[`lowband message of a burst (${b.burstPerMessage} B, coalesced receipts) ÷ seed JSON`, `${b.ratios.burstVsJson}×`, '–']]),
      [`lowband core 4 packets (${b.lowbandCore} B) ÷ MQTT floor`, `${b.ratios.coreVsFloor}×`, `≤ ${BYTES_GOALS.coreVsFloor}×`],
      ['lowband message ÷ MQTT floor', `${b.ratios.messageVsFloor}×`, '–']
    ]),
    ...(b.media === undefined
      ? (b.mediaSkipped === undefined ? [] : [`media figures skipped: ${b.mediaSkipped}`])
      : [`media message on the recipient's link (delivery + PUBACK): ${b.media.recipientLink} B (goal ≤ 120 B); the ${b.media.blobBytes}-byte blob goes to object storage over HTTP, not through the broker`]),
    `every counted byte belongs to a parsed packet or frame: ${b.countsMatchPackets ? 'yes' : 'NO'}`,
    '',
    ...(b.clientIds === undefined
      ? []
      : ['Client message id length (random bytes; counted: the same message sent with each):',
          renderTable(['client message id', 'core 4 packets B', '÷ floor', 'message end to end B', '÷ seed JSON'],
            b.clientIds.map((c) => [`${c.bytes} random bytes${c.bytes === CLIENT_MSG_ID_BYTES ? ' (the SDK\'s)' : ''}`, c.core, `${c.coreVsFloor}×`, c.message, `${c.messageVsJson}×`])),
          '']),
    ...(b.leastEncodings === undefined
      ? []
      : ['The least the 4 core packets could spend on the fields the protocol promises (positional CBOR, recipient in the topic `s/bob`, inbox topic `u/bob`, as lowband sends them; computed):',
          renderTable(['client message id', 'seq / cseq', 'send B', 'delivery B', '4 core packets B', '÷ floor'],
            b.leastEncodings.map((e) => [e.clientMsgId, e.sequences, e.send, e.delivery, e.total, `${Math.round(e.total / b.floor.total * 100) / 100}×`])),
          '']),
    ...list('lowband message includes:', b.lowband.message.packets),
    ...(burst === undefined ? [] : list(`lowband burst of ${burst.messages} includes:`, burst.exchange.packets)),
    ...list('lowband read includes:', b.lowband.read.packets),
    ...list('lowband typing includes:', b.lowband.typing.packets),
    ...(b.media === undefined ? [] : list('lowband media message includes:', b.media.message.packets)),
    ...(b.lowband.encrypted === undefined ? [] : list('lowband E2E steady state includes:', b.lowband.encrypted.steady.packets)),
    ...list('seed JSON message includes:', b.json.message.packets),
    ...list('seed JSON delivered status includes:', b.json.deliveredStatus.packets),
    ...list('MQTT floor includes:', b.floor.packets)
  ]
}

function fanout (report: BenchReport): string[] {
  const f = report.fanout!
  return [
    `## 4. Group fan-out: ${f.members} members online, ${f.messages} messages, one at a time`,
    renderTable(['measured from', 'p50 ms', 'p99 ms', 'p99.9 ms', 'max ms'], [
      ['sender PUBACK → last member delivery', f.fromPuback.p50Ms, f.fromPuback.p99Ms, f.fromPuback.p999Ms, f.fromPuback.maxMs],
      ['sender PUBLISH → last member delivery', f.fromPublish.p50Ms, f.fromPublish.p99Ms, f.fromPublish.p999Ms, f.fromPublish.maxMs]
    ])
  ]
}

function profile (report: BenchReport): string[] {
  const p = report.profile!
  const s = p.summary
  const costs = (lines: readonly CostLine[], n: number): Array<Array<string | number>> => lines.slice(0, n).map((l) => [l.name, l.where, l.ms, l.pct])
  return [
    `## Profile: lowband at ${Math.round(p.rate)} msg/s for ${p.durationMs} ms (node --cpu-prof; main thread busy ${s.busyMs} of ${s.sampledMs} ms sampled; p99 ${p.measure.latency.p99Ms} ms)`,
    renderTable(['area (self time)', 'ms', '% of busy'], s.byArea.slice(0, 10).map((l) => [l.name, l.ms, l.pct])),
    '',
    renderTable(['function (self time)', 'where', 'ms', '% of busy'], costs(s.topSelf, 12)),
    '',
    renderTable(['function (inclusive)', 'where', 'ms', '% of busy'], costs(s.topInclusive, 12)),
    ...s.hotCallers.flatMap((h) => ['', renderTable([`callers of ${h.name} (${h.where})`, 'where', 'ms', '% of it'], costs(h.callers, 6))])
  ]
}

function soak (report: BenchReport): string[] {
  const k = report.soak!
  const first = k.windows[0]
  const last = k.windows.at(-1)
  const drift = first === undefined || last === undefined ? undefined : last.measure.brokerCpuPct - first.measure.brokerCpuPct
  return [
    `## Sustained load: lowband at ${k.rate} msg/s for ${k.windows.length} windows of ${k.windowMs / 1000} s (one broker, its store growing throughout)`,
    renderTable(['at s', 'delivered/s', 'delivered %', 'p50 ms', 'p99 ms', 'CPU broker %', 'main thread %', 'RSS MiB'],
      k.windows.map((w) => [w.atSeconds, w.measure.deliveredRate, (w.measure.deliveredShare * 100).toFixed(1), w.measure.latency.p50Ms, w.measure.latency.p99Ms, w.measure.brokerCpuPct, w.mainThreadCpuPct, w.rssMiB])),
    'CPU broker: the process (LevelDB compactions included) while offering; main thread: its JavaScript over the window and its 1 s drain.',
    ...(drift === undefined ? [] : [`last window vs first: CPU ${drift >= 0 ? '+' : ''}${drift} points, p50 ${first!.measure.latency.p50Ms} → ${last!.measure.latency.p50Ms} ms`])
  ]
}

function push (report: BenchReport): string[] {
  const p = report.push!
  const row = (name: string, l: { count: number, p50Ms: number, p99Ms: number, p999Ms: number, maxMs: number }): Array<string | number> => [name, l.count, l.p50Ms, l.p99Ms, l.p999Ms, l.maxMs]
  return [
    `## Push fallback through firebase-admin to a local FCM endpoint (TLS, test CA)`,
    renderTable(['measure', 'count', 'p50 ms', 'p99 ms', 'p99.9 ms', 'max ms'], [
      row('send → push request at FCM, after the sender\'s PUBACK (recipient asleep)', p.sendToPush),
      row(`sender PUBACK, ${p.settings.recipients} sleeping phones × ${p.settings.messagesEach} messages in ${p.settings.seconds} s, push on`, p.load.pubackWithPush),
      row('the same, push off', p.load.pubackWithoutPush),
      row('the same, push on and FCM never answering', p.load.pubackFcmSilent)
    ]),
    '',
    `Pushes at the endpoint after the load run: ${p.load.pushes} for ${p.settings.recipients} phones (one conversation each; the coalescing window outlasts the run). PUBACK p99 with push ÷ without: ${p.load.p99Ratio}×.`
  ]
}

function abuse (report: BenchReport): string[] {
  const a = report.abuse!
  const s = a.settings
  const what: Record<string, string> = {
    quiet: 'no attack',
    'slow-reader': 'a device that stops reading, fed by 12 senders at their rate limit',
    payloads: 'three connections sending the costliest payloads at their rate limits',
    flood: `never-CONNECT sockets up to the cap of ${s.maxConnections}${a.limits.maxPending === undefined ? '' : `, ${a.limits.maxPending} of them at most unauthenticated`}`
  }
  const counts = (c: Record<string, number> | undefined): string => c === undefined ? '–' : Object.entries(c).map(([k, v]) => `${k} ${v}`).join(', ')
  return [
    `## Abuse: other users' latency under attack (${s.pairs} alice → bob pairs at ${s.ratePerPair} msg/s each, ${s.phaseMs / 1000} s phases; default limits: ${a.limits.rateLimit} publishes/s, ${a.limits.rateBytes / 1024} KiB/s, ${a.limits.maxPendingPerIp} pending per address)`,
    renderTable(['phase', 'attack', 'p50 ms', 'p99 ms', 'p99 ÷ quiet', 'max ms', 'delivered / sent', 'RSS peak MiB', 'RSS growth MiB', 'attacker did'],
      a.phases.map((p) => [p.name, what[p.name] ?? p.name, p.latency.p50Ms, p.latency.p99Ms, p.p99Ratio === undefined ? '–' : `${p.p99Ratio}×`, p.latency.maxMs, `${p.latency.count} / ${p.sent}`, p.peakRssMiB, p.rssGrowthMiB, counts(p.attack)])),
    'RSS growth: the phase\'s peak (its 3 s of settling included) over the RSS it began with; RSS is the broker\'s processes together (lowband and its accept process).',
    `acknowledged alice → bob messages: ${a.acknowledged}, lost ${a.lost.pairs}; the slow reader's acknowledged messages missing from its replay: ${a.lost.slowReader}`,
    `broker RSS: ${a.rss.quietMiB} MiB after the quiet phase, ${a.rss.peakMiB} MiB at most under attack (+${Math.round((a.rss.peakMiB - a.rss.quietMiB) * 10) / 10} MiB over the whole run)`
  ]
}

/** The tail at the same offered rate: lowband at half its maximum, each reference broker at that rate. */
function atLowbandHalf (results: BrokerThroughput[]): string[] {
  const lowband = embeddedLowband(results)
  const references = results.filter((r) => r.atLowbandHalf !== undefined)
  if (lowband === undefined || references.length === 0) return []
  const own = lowband.atHalf.latency
  const rows = [[throughputLabel(lowband), own.p50Ms, own.p99Ms, '–'], ...references.map((r) => {
    const { p50Ms, p99Ms } = r.atLowbandHalf!.latency
    return [throughputLabel(r), p50Ms, p99Ms, p99Ms === 0 ? '–' : `${(own.p99Ms / p99Ms).toFixed(2)}×`]
  })]
  return ['', `At lowband's half rate (${Math.round(lowband.atHalf.offeredRate)} msg/s offered, ${lowband.atHalf.latency.count} messages, a fresh broker each): the tail at the same load`,
    renderTable(['broker', 'p50 ms', 'p99 ms', "lowband's p99 ÷ this"], rows)]
}
