/** The parts of V8's .cpuprofile format (written by `node --cpu-prof`) the summary reads. */
interface ProfileNode {
  id: number
  callFrame: { functionName: string, url: string, lineNumber: number }
  children?: number[]
}
interface CpuProfile { nodes: ProfileNode[], samples: number[], timeDeltas: number[] }

export interface CostLine {
  /** Function name, or the area's name. */
  name: string
  /** Package, or lowband's file and line. */
  where: string
  ms: number
  /** Share of the busy (non-idle) time, %. */
  pct: number
}

export interface ProfileSummary {
  sampledMs: number
  busyMs: number
  /** Self time by area: lowband's folders, each npm package, Node's internals, GC. */
  byArea: CostLine[]
  /** The functions that themselves spent the most time. */
  topSelf: CostLine[]
  /** Time under each function, callees included, for lowband's and its packages' functions. */
  topInclusive: CostLine[]
  /**
   * For the costliest non-GC functions: the nearest lowband function up their stacks, so a cost deep
   * in a dependency points at the broker code that asked for it (pct = share of that function's self time).
   */
  hotCallers: Array<{ name: string, where: string, callers: CostLine[] }>
}

const IDLE = new Set(['(idle)', '(root)'])

/** Summarises a CPU profile: where a busy broker's time goes, by area and by function. */
export function summarizeProfile (profile: CpuProfile, top = 15, traced = 3): ProfileSummary {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]))
  const parent = new Map<number, number>()
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id)
  const self = new Map<string, number>()
  const inclusive = new Map<string, number>()
  const area = new Map<string, number>()
  let sampledMs = 0
  let idleMs = 0
  const stackOf = (id: number): ProfileNode[] => {
    const stack: ProfileNode[] = []
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) stack.push(byId.get(at)!)
    return stack
  }
  profile.samples.forEach((id, i) => {
    // timeDeltas[i] is the time since the previous sample (µs): charged to this sample's stack.
    const ms = (profile.timeDeltas[i] ?? 0) / 1000
    sampledMs += ms
    const node = byId.get(id)!
    if (IDLE.has(node.callFrame.functionName)) { idleMs += ms; return }
    add(self, keyOf(node), ms)
    add(area, areaOf(node), ms)
    const seen = new Set<string>()
    for (const frame of stackOf(id)) {
      const key = keyOf(frame)
      // Recursion must not count a sample twice; anonymous and root frames say nothing.
      if (seen.has(key) || frame.callFrame.url === '' || IDLE.has(frame.callFrame.functionName)) continue
      seen.add(key)
      add(inclusive, key, ms)
    }
  })
  const busyMs = sampledMs - idleMs
  const lines = (costs: Map<string, number>, whole: number, isArea = false): CostLine[] => [...costs.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([key, ms]) => {
      const [name, where] = isArea ? [key, ''] : key.split('\u0000') as [string, string]
      return { name, where, ms: Math.round(ms), pct: Math.round(ms / whole * 1000) / 10 }
    })
  const hot = [...self.entries()].filter(([key]) => !key.startsWith('(')).sort((a, b) => b[1] - a[1]).slice(0, traced)
  const hotCallers = hot.map(([hotKey, hotMs]) => {
    const callers = new Map<string, number>()
    profile.samples.forEach((id, i) => {
      const stack = stackOf(id)
      if (keyOf(stack[0]!) !== hotKey) return
      const caller = stack.slice(1).find((frame) => placeOf(frame.callFrame.url, 0).startsWith('lowband '))
      add(callers, caller === undefined ? '(no lowband caller)\u0000' : keyOf(caller), (profile.timeDeltas[i] ?? 0) / 1000)
    })
    const [name, where] = hotKey.split('\u0000') as [string, string]
    return { name, where, callers: lines(callers, hotMs).slice(0, 6) }
  })
  return { sampledMs: Math.round(sampledMs), busyMs: Math.round(busyMs), byArea: lines(area, busyMs, true), topSelf: lines(self, busyMs), topInclusive: lines(inclusive, busyMs), hotCallers }
}

function add (costs: Map<string, number>, key: string, ms: number): void {
  costs.set(key, (costs.get(key) ?? 0) + ms)
}

function keyOf (node: ProfileNode): string {
  const { functionName, url, lineNumber } = node.callFrame
  return `${functionName === '' ? '(anonymous)' : functionName}\u0000${placeOf(url, lineNumber)}`
}

/** "aedes lib/client.js:120", "lowband hooks/fan-out.js:15", "node:internal/streams/writable:42". */
function placeOf (url: string, lineNumber: number): string {
  if (url === '') return '(native)'
  const line = lineNumber + 1
  const module = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\/(.*)$/.exec(url)
  if (module !== null) return `${module[1]} ${module[2]}:${line}`
  const own = /\/dist\/(.*)$/.exec(url)
  if (own !== null) return `lowband ${own[1]}:${line}`
  return `${url.replace(/^file:\/\//, '')}:${line}`
}

function areaOf (node: ProfileNode): string {
  const { functionName, url } = node.callFrame
  if (url === '') return functionName.startsWith('(') ? functionName : '(native code)'
  const module = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url)
  if (module !== null) return module[1]!
  const own = /\/dist\/([^/]+)\//.exec(url)
  if (own !== null) return `lowband ${own[1]}/`
  if (url.startsWith('node:')) return 'node internals'
  return url
}
