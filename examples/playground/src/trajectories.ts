// The race drawn over the contour plot: the minima and landmarks, the start, and each racer's
// path with a dot per step (the spacing shows the step sizes) and its current position.
import type { TestFunction } from './functions.js';
import type { PlotFrame } from './plot-frame.js';

export interface DrawnPath {
  color: string;
  points: ReadonlyArray<readonly [number, number]>;
  /** Drawn fainter: the racer failed or diverged. */
  faded?: boolean;
}

export function drawMarkers(ctx: CanvasRenderingContext2D, frame: PlotFrame, fn: TestFunction, start: readonly [number, number]): void {
  ctx.save();
  frame.clip(ctx);
  for (const [x, y] of fn.minima) star(ctx, ...frame.toPixel(x, y), 7);
  ctx.font = '11px ui-sans-serif, system-ui, sans-serif';
  for (const { at, label } of fn.landmarks) {
    const [px, py] = frame.toPixel(...at);
    ctx.strokeStyle = 'rgba(255,255,255,0.85)';
    ctx.lineWidth = 1.5;
    ctx.beginPath();
    ctx.moveTo(px - 5, py);
    ctx.lineTo(px, py - 5);
    ctx.lineTo(px + 5, py);
    ctx.lineTo(px, py + 5);
    ctx.closePath();
    ctx.stroke();
    ctx.fillStyle = 'rgba(255,255,255,0.85)';
    ctx.textAlign = 'left';
    ctx.textBaseline = 'bottom';
    ctx.fillText(label, px + 7, py - 3);
  }
  const [sx, sy] = frame.toPixel(...start);
  ctx.lineWidth = 2;
  ctx.strokeStyle = '#ffffff';
  ctx.fillStyle = 'rgba(0,0,0,0.55)';
  ctx.beginPath();
  ctx.arc(sx, sy, 6, 0, 2 * Math.PI);
  ctx.fill();
  ctx.stroke();
  ctx.beginPath();
  ctx.arc(sx, sy, 1.8, 0, 2 * Math.PI);
  ctx.fillStyle = '#ffffff';
  ctx.fill();
  ctx.restore();
}

function star(ctx: CanvasRenderingContext2D, cx: number, cy: number, r: number): void {
  ctx.beginPath();
  for (let i = 0; i < 10; i++) {
    const radius = i % 2 === 0 ? r : r * 0.45;
    const angle = -Math.PI / 2 + (i * Math.PI) / 5;
    ctx.lineTo(cx + radius * Math.cos(angle), cy + radius * Math.sin(angle));
  }
  ctx.closePath();
  ctx.fillStyle = '#ffffff';
  ctx.strokeStyle = 'rgba(0,0,0,0.6)';
  ctx.lineWidth = 1;
  ctx.fill();
  ctx.stroke();
}

export function drawPaths(ctx: CanvasRenderingContext2D, frame: PlotFrame, paths: readonly DrawnPath[]): void {
  ctx.save();
  frame.clip(ctx);
  ctx.lineJoin = 'round';
  ctx.lineCap = 'round';
  for (const path of paths) {
    if (path.points.length === 0) continue;
    const pixels = path.points.map(([x, y]) => frame.toPixel(x, y));
    ctx.globalAlpha = path.faded ? 0.45 : 1;
    // A dark halo under the coloured line keeps it readable on light and dark parts of the map.
    for (const [style, width] of [['rgba(0,0,0,0.55)', 4.5], [path.color, 2]] as const) {
      ctx.strokeStyle = style;
      ctx.lineWidth = width;
      ctx.beginPath();
      for (const [px, py] of pixels) ctx.lineTo(px, py);
      ctx.stroke();
    }
    ctx.fillStyle = path.color;
    if (pixels.length <= 600) {
      for (const [px, py] of pixels) {
        ctx.beginPath();
        ctx.arc(px, py, 1.7, 0, 2 * Math.PI);
        ctx.fill();
      }
    }
    const [hx, hy] = pixels[pixels.length - 1];
    ctx.beginPath();
    ctx.arc(hx, hy, 5.5, 0, 2 * Math.PI);
    ctx.fill();
    ctx.lineWidth = 1.5;
    ctx.strokeStyle = '#0b1020';
    ctx.stroke();
  }
  ctx.restore();
}
