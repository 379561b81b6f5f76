// The contour plot: the test function evaluated on a grid (in tf ops, with the same formula the
// race differentiates), drawn as a heat map of log(f − f*) with contour lines at log-spaced
// levels, traced by marching squares.
import * as tf from '@tensorflow/tfjs-core';
import { rampColor } from './colors.js';
import type { TestFunction } from './functions.js';
import type { PlotFrame } from './plot-frame.js';

/** f on an n×n grid over the function's domain; row 0 is the top row (largest y). */
export interface Grid {
  n: number;
  values: Float32Array;
  fn: TestFunction;
}

/** Evaluates `fn` on an n×n grid of its domain, in one tf call. */
export async function evaluateGrid(fn: TestFunction, n: number): Promise<Grid> {
  const { x: [x0, x1], y: [y0, y1] } = fn.domain;
  const xs = new Float32Array(n * n);
  const ys = new Float32Array(n * n);
  for (let row = 0; row < n; row++) {
    for (let col = 0; col < n; col++) {
      xs[row * n + col] = x0 + ((x1 - x0) * col) / (n - 1);
      ys[row * n + col] = y1 - ((y1 - y0) * row) / (n - 1);
    }
  }
  const f = tf.tidy(() => fn.evaluate(tf.tensor1d(xs), tf.tensor1d(ys)));
  const values = (await f.data()) as Float32Array;
  f.dispose();
  return { n, values, fn };
}

/** The log10 range of the gap f − f* that the colours and the levels span. */
export interface GapRange {
  lo: number;
  hi: number;
}

/** Gaps below this count as zero (float32 rounding around the minimum). */
const GAP_FLOOR = 1e-6;

export function gapRange(grid: Grid): GapRange {
  const gaps = Array.from(grid.values, (v) => Math.max(v - grid.fn.minValue, GAP_FLOOR)).sort((a, b) => a - b);
  // The lowest percent of the grid gets the darkest colour, so the minimum's basin reads as one.
  const lo = Math.log10(gaps[Math.floor(gaps.length * 0.01)]);
  const hi = Math.log10(gaps[gaps.length - 1]);
  return { lo, hi: Math.max(hi, lo + 1) };
}

/** `count` loss values spaced evenly in log10(f − f*) over the range. */
export function logLevels(range: GapRange, minValue: number, count: number): number[] {
  return Array.from({ length: count }, (_, i) => minValue + 10 ** (range.lo + ((i + 0.5) * (range.hi - range.lo)) / count));
}

/**
 * The segments of the contour line f = level, by marching squares, in grid coordinates
 * (column, row), as a flat list x0, y0, x1, y1, ...
 */
export function contourSegments(grid: Grid, level: number): number[] {
  const { n, values } = grid;
  const out: number[] = [];
  const at = (r: number, c: number) => values[r * n + c];
  // Where the line crosses the edge between two corners, by linear interpolation.
  const cross = (a: number, b: number) => (level - a) / (b - a);
  for (let r = 0; r < n - 1; r++) {
    for (let c = 0; c < n - 1; c++) {
      const tl = at(r, c);
      const tr = at(r, c + 1);
      const br = at(r + 1, c + 1);
      const bl = at(r + 1, c);
      const code = (tl > level ? 8 : 0) | (tr > level ? 4 : 0) | (br > level ? 2 : 0) | (bl > level ? 1 : 0);
      if (code === 0 || code === 15) continue;
      const top = (): [number, number] => [c + cross(tl, tr), r];
      const right = (): [number, number] => [c + 1, r + cross(tr, br)];
      const bottom = (): [number, number] => [c + cross(bl, br), r + 1];
      const left = (): [number, number] => [c, r + cross(tl, bl)];
      const pairs = SEGMENTS[code === 5 || code === 10 ? saddleCase(code, (tl + tr + br + bl) / 4 > level) : code];
      for (const [from, to] of pairs) {
        const edges = { top, right, bottom, left };
        out.push(...edges[from](), ...edges[to]());
      }
    }
  }
  return out;
}

type Edge = 'top' | 'right' | 'bottom' | 'left';

/** Which edges each corner pattern joins (bit 8 top-left, 4 top-right, 2 bottom-right, 1 bottom-left). */
const SEGMENTS: Record<number, Array<[Edge, Edge]>> = {
  1: [['left', 'bottom']],
  2: [['bottom', 'right']],
  3: [['left', 'right']],
  4: [['top', 'right']],
  5: [['top', 'right'], ['left', 'bottom']],
  6: [['top', 'bottom']],
  7: [['left', 'top']],
  8: [['left', 'top']],
  9: [['top', 'bottom']],
  10: [['left', 'top'], ['bottom', 'right']],
  11: [['top', 'right']],
  12: [['left', 'right']],
  13: [['bottom', 'right']],
  14: [['left', 'bottom']],
  // The two ambiguous saddles when the cell's centre is above the level: the corners below it
  // are the ones cut off.
  16: [['left', 'top'], ['bottom', 'right']],
  17: [['top', 'right'], ['left', 'bottom']],
};

/** Cases 5 and 10 join different edges when the cell's centre is on the other side. */
function saddleCase(code: number, centreAbove: boolean): number {
  if (!centreAbove) return code;
  return code === 5 ? 16 : 17;
}

/** Draws the heat map and the contour lines into the plot area of `frame`. */
export function drawContours(ctx: CanvasRenderingContext2D, frame: PlotFrame, grid: Grid, levels = 16): GapRange {
  const { n, values, fn } = grid;
  const range = gapRange(grid);
  const image = new ImageData(n, n);
  for (let i = 0; i < n * n; i++) {
    const gap = Math.max(values[i] - fn.minValue, GAP_FLOOR);
    const [r, g, b] = rampColor((Math.log10(gap) - range.lo) / (range.hi - range.lo));
    image.data[4 * i] = r;
    image.data[4 * i + 1] = g;
    image.data[4 * i + 2] = b;
    image.data[4 * i + 3] = 255;
  }
  const tile = document.createElement('canvas');
  tile.width = n;
  tile.height = n;
  (tile.getContext('2d') as CanvasRenderingContext2D).putImageData(image, 0, 0);

  const { left, top } = frame.margins;
  ctx.save();
  ctx.imageSmoothingEnabled = true;
  ctx.imageSmoothingQuality = 'high';
  ctx.drawImage(tile, left, top, frame.plotWidth, frame.plotHeight);
  frame.clip(ctx);
  // Grid coordinates to canvas pixels: the grid's corners are the domain's corners.
  const sx = frame.plotWidth / (n - 1);
  const sy = frame.plotHeight / (n - 1);
  ctx.lineWidth = 1;
  ctx.strokeStyle = 'rgba(255, 255, 255, 0.32)';
  ctx.beginPath();
  for (const level of logLevels(range, fn.minValue, levels)) {
    const s = contourSegments(grid, level);
    for (let i = 0; i < s.length; i += 4) {
      ctx.moveTo(left + s[i] * sx, top + s[i + 1] * sy);
      ctx.lineTo(left + s[i + 2] * sx, top + s[i + 3] * sy);
    }
  }
  ctx.stroke();
  ctx.restore();
  return range;
}
