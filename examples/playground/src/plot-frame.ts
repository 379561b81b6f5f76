// The contour plot's geometry: where the function's domain sits on the canvas, the mapping
// between domain and pixels both ways, and the axes with their ticks.

export interface Domain {
  x: [number, number];
  y: [number, number];
}

export interface Margins {
  left: number;
  right: number;
  top: number;
  bottom: number;
}

export class PlotFrame {
  constructor(
    readonly width: number,
    readonly height: number,
    readonly domain: Domain,
    readonly margins: Margins = { left: 44, right: 12, top: 12, bottom: 34 },
  ) {}

  get plotWidth(): number {
    return this.width - this.margins.left - this.margins.right;
  }

  get plotHeight(): number {
    return this.height - this.margins.top - this.margins.bottom;
  }

  /** Canvas pixel of a domain point (y grows upwards in the domain, downwards on the canvas). */
  toPixel(x: number, y: number): [number, number] {
    const { x: [x0, x1], y: [y0, y1] } = this.domain;
    return [
      this.margins.left + ((x - x0) / (x1 - x0)) * this.plotWidth,
      this.margins.top + ((y1 - y) / (y1 - y0)) * this.plotHeight,
    ];
  }

  /** Domain point of a canvas pixel. */
  toDomain(px: number, py: number): [number, number] {
    const { x: [x0, x1], y: [y0, y1] } = this.domain;
    return [
      x0 + ((px - this.margins.left) / this.plotWidth) * (x1 - x0),
      y1 - ((py - this.margins.top) / this.plotHeight) * (y1 - y0),
    ];
  }

  contains(px: number, py: number): boolean {
    const { left, top } = this.margins;
    return px >= left && px <= left + this.plotWidth && py >= top && py <= top + this.plotHeight;
  }

  /** Clips later drawing to the plot area. Call inside save()/restore(). */
  clip(ctx: CanvasRenderingContext2D): void {
    ctx.beginPath();
    ctx.rect(this.margins.left, this.margins.top, this.plotWidth, this.plotHeight);
    ctx.clip();
  }

  drawAxes(ctx: CanvasRenderingContext2D, color = '#9aa4b8'): void {
    const { left, top } = this.margins;
    ctx.save();
    ctx.strokeStyle = color;
    ctx.fillStyle = color;
    ctx.lineWidth = 1;
    ctx.font = '11px ui-sans-serif, system-ui, sans-serif';
    ctx.strokeRect(left + 0.5, top + 0.5, this.plotWidth - 1, this.plotHeight - 1);
    ctx.textAlign = 'center';
    ctx.textBaseline = 'top';
    for (const x of niceTicks(this.domain.x[0], this.domain.x[1], 8)) {
      const [px] = this.toPixel(x, 0);
      ctx.fillRect(Math.round(px), top + this.plotHeight, 1, 4);
      ctx.fillText(formatTick(x), px, top + this.plotHeight + 6);
    }
    ctx.textAlign = 'right';
    ctx.textBaseline = 'middle';
    for (const y of niceTicks(this.domain.y[0], this.domain.y[1], 8)) {
      const [, py] = this.toPixel(0, y);
      ctx.fillRect(left - 4, Math.round(py), 4, 1);
      ctx.fillText(formatTick(y), left - 7, py);
    }
    ctx.font = 'italic 12px ui-serif, Georgia, serif';
    ctx.textAlign = 'right';
    ctx.textBaseline = 'bottom';
    ctx.fillText('x', left + this.plotWidth, this.height - 1);
    ctx.save();
    ctx.translate(11, top + 8);
    ctx.fillText('y', 0, 0);
    ctx.restore();
    ctx.restore();
  }
}

/** About `count` round tick values (steps of 1, 2 or 5 times a power of ten) within [lo, hi]. */
export function niceTicks(lo: number, hi: number, count: number): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw) ?? 10 * power;
  const ticks: number[] = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) ticks.push(Math.abs(t) < step * 1e-9 ? 0 : t);
  return ticks;
}

export function formatTick(x: number): string {
  return String(Number(x.toPrecision(6)));
}
