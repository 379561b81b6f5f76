// Line charts in SVG, drawn by hand (no chart library): the loss against the step on a log
// scale, the learning rate against the step, the MLP's loss and accuracy per epoch.
import { formatTick, niceTicks } from './plot-frame.js';

const SVG = 'http://www.w3.org/2000/svg';

export interface Series {
  label: string;
  color: string;
  /** y at x = 0, 1, 2, ... (or at `xs` when given); non-finite values break the line. */
  ys: readonly number[];
  xs?: readonly number[];
  dashed?: boolean;
}

export interface ChartOptions {
  xLabel: string;
  yLabel: string;
  logY?: boolean;
  /** The x range; by default [0, the longest series]. */
  xDomain?: [number, number];
  /** Fixes the y range instead of fitting it to the data. */
  yDomain?: [number, number];
  /** On a log scale, values below this are drawn at it. */
  logFloor?: number;
  /** Formats y tick labels (e.g. as percentages). */
  formatY?: (y: number) => string;
}

function el<K extends keyof SVGElementTagNameMap>(name: K, attrs: Record<string, string | number> = {}): SVGElementTagNameMap[K] {
  const node = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  return node;
}

export class LineChart {
  private readonly margin = { left: 52, right: 12, top: 10, bottom: 32 };

  constructor(
    private readonly svg: SVGSVGElement,
    private readonly options: ChartOptions,
  ) {}

  /** Redraws the chart with these series; `overrides` change options for this drawing only. */
  update(series: readonly Series[], overrides: Partial<ChartOptions> = {}): void {
    const options = { ...this.options, ...overrides };
    const width = this.svg.clientWidth || Number(this.svg.getAttribute('width')) || 400;
    const height = this.svg.clientHeight || Number(this.svg.getAttribute('height')) || 220;
    this.svg.setAttribute('viewBox', `0 0 ${width} ${height}`);
    this.svg.replaceChildren();
    const { left, right, top, bottom } = this.margin;
    const w = width - left - right;
    const h = height - top - bottom;
    const logY = options.logY ?? false;
    const floor = options.logFloor ?? 1e-12;
    const ty = (y: number) => (logY ? Math.log10(Math.max(y, floor)) : y);

    const longest = Math.max(1, ...series.map((s) => (s.xs ? s.xs[s.xs.length - 1] ?? 0 : s.ys.length - 1)));
    const [x0, x1] = options.xDomain ?? [0, longest];
    let [y0, y1] = options.yDomain ? options.yDomain.map(ty) : dataRange(series, ty);
    if (logY) [y0, y1] = [Math.floor(y0), Math.ceil(y1)];
    if (y1 <= y0) [y0, y1] = logY ? [y0 - 1, y0 + 1] : [y0 - Math.abs(y0 || 1) * 0.1, y0 + Math.abs(y0 || 1) * 0.1];
    const px = (x: number) => left + ((x - x0) / (x1 - x0 || 1)) * w;
    const py = (y: number) => top + (1 - (ty(y) - y0) / (y1 - y0)) * h;

    const axes = el('g', { class: 'axes' });
    const yTicks = logY ? logTicks(y0, y1) : niceTicks(y0, y1, 5);
    for (const t of yTicks) {
      const y = logY ? 10 ** t : t;
      const yy = py(y);
      axes.append(el('line', { x1: left, x2: left + w, y1: yy, y2: yy, class: 'grid' }));
      const label = el('text', { x: left - 6, y: yy, class: 'tick', 'text-anchor': 'end', 'dominant-baseline': 'middle' });
      label.textContent = logY ? `1e${t}` : (options.formatY ?? formatTick)(y);
      axes.append(label);
    }
    for (const x of niceTicks(x0, x1, 6)) {
      const xx = px(x);
      axes.append(el('line', { x1: xx, x2: xx, y1: top + h, y2: top + h + 4, class: 'tick-mark' }));
      const label = el('text', { x: xx, y: top + h + 16, class: 'tick', 'text-anchor': 'middle' });
      label.textContent = formatTick(x);
      axes.append(label);
    }
    axes.append(el('rect', { x: left, y: top, width: w, height: h, class: 'frame' }));
    const xLabel = el('text', { x: left + w, y: height - 2, class: 'axis-label', 'text-anchor': 'end' });
    xLabel.textContent = options.xLabel;
    const yLabel = el('text', { x: 12, y: top + h / 2, class: 'axis-label', 'text-anchor': 'middle', transform: `rotate(-90 12 ${top + h / 2})` });
    yLabel.textContent = options.yLabel;
    axes.append(xLabel, yLabel);
    this.svg.append(axes);

    const lines = el('g', { class: 'lines' });
    for (const s of series) {
      let d = '';
      let pen = false;
      s.ys.forEach((y, i) => {
        const x = s.xs ? s.xs[i] : i;
        if (!Number.isFinite(y)) {
          pen = false;
          return;
        }
        const yy = Math.min(top + h, Math.max(top, py(y)));
        d += `${pen ? 'L' : 'M'}${px(x).toFixed(1)},${yy.toFixed(1)}`;
        pen = true;
      });
      const path = el('path', { d, stroke: s.color, class: 'series', fill: 'none' });
      if (s.dashed) path.setAttribute('stroke-dasharray', '5 4');
      const title = el('title');
      title.textContent = s.label;
      path.append(title);
      lines.append(path);
    }
    this.svg.append(lines);
  }
}

function dataRange(series: readonly Series[], ty: (y: number) => number): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (const s of series) {
    for (const y of s.ys) {
      if (!Number.isFinite(y)) continue;
      const t = ty(y);
      lo = Math.min(lo, t);
      hi = Math.max(hi, t);
    }
  }
  return Number.isFinite(lo) ? [lo, hi] : [0, 1];
}

/** Powers of ten between two log10 bounds, thinned to at most 6 labels. */
function logTicks(lo: number, hi: number): number[] {
  const every = Math.max(1, Math.ceil((hi - lo) / 6));
  const ticks: number[] = [];
  for (let t = Math.ceil(lo); t <= hi; t++) if ((t - Math.ceil(lo)) % every === 0) ticks.push(t);
  return ticks;
}

/**
 * The scale for learning-rate curves: linear from 0 (which shows a schedule's shape as it is)
 * unless the racers' peak rates differ by more than 20x, then logarithmic so that all show.
 */
export function rateScale(curves: ReadonlyArray<readonly number[]>): Partial<ChartOptions> {
  const peaks = curves.map((ys) => Math.max(...ys)).filter((p) => p > 0);
  if (peaks.length === 0) return {};
  if (Math.max(...peaks) <= 20 * Math.min(...peaks)) return { yDomain: [0, 1.05 * Math.max(...peaks)] };
  return { logY: true, logFloor: Math.min(...peaks) / 100, yLabel: 'learning rate (log)' };
}
