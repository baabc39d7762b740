/*
 * Just enough SVG for the netem report's plots: scales, ticks, and a document
 * builder. Hand-written so the report needs no plotting package and the files
 * stay small, diffable text.
 */

export type Scale = (value: number) => number

export function linearScale(domain: readonly [number, number], range: readonly [number, number]): Scale {
  const [d0, d1] = domain
  const [r0, r1] = range
  const span = d1 - d0 || 1
  return (v) => r0 + ((v - d0) / span) * (r1 - r0)
}

/** Log10 scale; values at or below 0 are clamped to the domain's lower end. */
export function logScale(domain: readonly [number, number], range: readonly [number, number]): Scale {
  const lin = linearScale([Math.log10(domain[0]), Math.log10(domain[1])], range)
  return (v) => lin(Math.log10(Math.max(v, domain[0])))
}

/** About `count` round ticks (1, 2, 5 × 10^k steps) covering [min, max]. */
export function linearTicks(min: number, max: number, count = 6): number[] {
  const raw = (max - min) / Math.max(1, count)
  const magnitude = 10 ** Math.floor(Math.log10(raw || 1))
  const step = [1, 2, 5, 10].map((m) => m * magnitude).find((s) => s >= raw) ?? 10 * magnitude
  const ticks: number[] = []
  for (let t = Math.ceil(min / step) * step; t <= max + step * 1e-9; t += step) ticks.push(Number(t.toPrecision(12)))
  return ticks
}

/** 1, 2, 5 × 10^k ticks inside [min, max]. */
export function logTicks(min: number, max: number): number[] {
  const ticks: number[] = []
  for (let e = Math.floor(Math.log10(min)); e <= Math.ceil(Math.log10(max)); e++) {
    for (const m of [1, 2, 5]) {
      const t = m * 10 ** e
      if (t >= min && t <= max) ticks.push(t)
    }
  }
  return ticks
}

export function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')
}

type Attrs = Record<string, string | number>

function attrs(a: Attrs): string {
  return Object.entries(a)
    .map(([k, v]) => ` ${k}="${typeof v === 'number' ? fmt(v) : escapeXml(v)}"`)
    .join('')
}

/** Coordinates with one decimal: enough for the eye, small in the file. */
function fmt(n: number): string {
  return String(Math.round(n * 10) / 10)
}

/** Colour-blind-safe palette (Okabe–Ito), then a few extra. */
export const PALETTE = ['#0072B2', '#E69F00', '#009E73', '#D55E00', '#CC79A7', '#56B4E9', '#000000', '#F0E442', '#999999']

export function colour(i: number): string {
  return PALETTE[i % PALETTE.length] ?? '#000000'
}

export class SvgDoc {
  readonly #parts: string[] = []
  readonly width: number
  readonly height: number

  constructor(width: number, height: number, title: string) {
    this.width = width
    this.height = height
    this.#parts.push(`<title>${escapeXml(title)}</title>`)
    this.rect(0, 0, width, height, { fill: '#ffffff' })
  }

  rect(x: number, y: number, w: number, h: number, a: Attrs = {}): this {
    this.#parts.push(`<rect${attrs({ x, y, width: Math.max(0, w), height: Math.max(0, h), ...a })}/>`)
    return this
  }

  line(x1: number, y1: number, x2: number, y2: number, a: Attrs = {}): this {
    this.#parts.push(`<line${attrs({ x1, y1, x2, y2, stroke: '#000000', ...a })}/>`)
    return this
  }

  polyline(points: ReadonlyArray<readonly [number, number]>, a: Attrs = {}): this {
    if (points.length === 0) return this
    const list = points.map(([x, y]) => `${fmt(x)},${fmt(y)}`).join(' ')
    this.#parts.push(`<polyline${attrs({ points: list, fill: 'none', ...a })}/>`)
    return this
  }

  circle(cx: number, cy: number, r: number, a: Attrs = {}): this {
    this.#parts.push(`<circle${attrs({ cx, cy, r, ...a })}/>`)
    return this
  }

  text(x: number, y: number, content: string, a: Attrs = {}): this {
    this.#parts.push(`<text${attrs({ x, y, 'font-family': 'sans-serif', 'font-size': 12, ...a })}>${escapeXml(content)}</text>`)
    return this
  }

  toString(): string {
    return `<svg xmlns="http://www.w3.org/2000/svg" width="${this.width}" height="${this.height}" viewBox="0 0 ${this.width} ${this.height}">\n${this.#parts.join('\n')}\n</svg>\n`
  }
}

export interface Frame {
  left: number
  top: number
  right: number
  bottom: number
}

/** Draws the axes of a plot area with tick labels and axis titles. */
export function axes(
  doc: SvgDoc,
  frame: Frame,
  x: { scale: Scale; ticks: number[]; label: string; format?: (v: number) => string },
  y: { scale: Scale; ticks: number[]; label: string; format?: (v: number) => string }
): void {
  const fx = x.format ?? String
  const fy = y.format ?? String
  for (const t of x.ticks) {
    const px = x.scale(t)
    doc.line(px, frame.top, px, frame.bottom, { stroke: '#e5e5e5' })
    doc.text(px, frame.bottom + 16, fx(t), { 'text-anchor': 'middle', 'font-size': 11 })
  }
  for (const t of y.ticks) {
    const py = y.scale(t)
    doc.line(frame.left, py, frame.right, py, { stroke: '#e5e5e5' })
    doc.text(frame.left - 6, py + 4, fy(t), { 'text-anchor': 'end', 'font-size': 11 })
  }
  doc.line(frame.left, frame.bottom, frame.right, frame.bottom)
  doc.line(frame.left, frame.top, frame.left, frame.bottom)
  doc.text((frame.left + frame.right) / 2, frame.bottom + 36, x.label, { 'text-anchor': 'middle' })
  const cy = (frame.top + frame.bottom) / 2
  doc.text(14, cy, y.label, { 'text-anchor': 'middle', transform: `rotate(-90 14 ${cy})` })
}

/** A legend box of coloured entries at (x, y), one per line. */
export function legend(doc: SvgDoc, x: number, y: number, entries: ReadonlyArray<{ label: string; colour: string; dashed?: boolean }>): void {
  entries.forEach((e, i) => {
    const ly = y + i * 16
    doc.line(x, ly, x + 18, ly, { stroke: e.colour, 'stroke-width': 2, ...(e.dashed ? { 'stroke-dasharray': '4 3' } : {}) })
    doc.text(x + 24, ly + 4, e.label, { 'font-size': 11 })
  })
}
