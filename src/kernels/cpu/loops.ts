import type { FusedAttrs, KernelTable } from '../layout.js';
import { clipScale } from '../layout.js';
import { FLAG } from '../spec.js';

/**
 * The cpu backend's fused kernels where WebAssembly SIMD is missing (elsewhere the SIMD module
 * runs over tiles of the buffers, see wasm/tiles.ts): plain loops over the backend's
 * Float32Arrays. Each
 * operation is rounded to float32 (`Math.fround`) in the order of the composite tf-op path,
 * so the results match it as the wasm kernels do.
 */

const f = Math.fround;

/** Stands for the buffers a variant does not use; never read or written. */
const NONE = new Float32Array(0);

/** The sum of squares of all gradients, in float64. */
export function sumOfSquares(table: KernelTable<Float32Array>): number {
  let sum = 0;
  for (const g of table.inputs[0]!) for (let i = 0; i < g.length; i++) sum += g[i] * g[i];
  return sum;
}

export function runCpuKernel(attrs: FusedAttrs, table: KernelTable<Float32Array>): void {
  const s = attrs.scalars.map(f);
  const flags = attrs.flags;
  const doClip = attrs.clipNorm > 0;
  // Without clipping the gradient is multiplied by exactly 1, which changes no bits.
  const gs = doClip ? f(clipScale(attrs.sumOfSquares ?? sumOfSquares(table), attrs.clipNorm)) : 1;
  const apply = (flags & FLAG.apply) !== 0;
  const nesterov = (flags & FLAG.nesterov) !== 0;
  const input = (k: number, j: number) => table.inputs[k]?.[j] ?? NONE;
  const output = (k: number, j: number) => table.outputs[k]?.[j] ?? NONE;
  for (let j = 0; j < table.sizes.length; j++) {
    const n = table.sizes[j];
    const [g, p, a, b, c] = [input(0, j), input(1, j), input(2, j), input(3, j), input(4, j)];
    const [out, qa, qb, qc] = [output(0, j), output(1, j), output(2, j), output(3, j)];
    switch (attrs.family) {
      case 'adam': {
        const [b1, c1, b2, c2, bc1, bc1n, bc2, eps, epsRoot, wd, lr] = s;
        const decay = attrs.decay[j] === 1 && (flags & FLAG.decay) !== 0;
        for (let i = 0; i < n; i++) {
          const gi = f(g[i] * gs);
          const m = f(f(c1 * gi) + f(b1 * a[i]));
          const v = f(f(c2 * f(gi * gi)) + f(b2 * b[i]));
          qa[i] = m;
          qb[i] = v;
          const mh = nesterov ? f(f(b1 * f(m / bc1n)) + f(c1 * f(gi / bc1))) : f(m / bc1);
          let u = f(mh / f(f(Math.sqrt(f(f(v / bc2) + epsRoot))) + eps));
          if (decay) u = f(u + f(wd * p[i]));
          {
            const u1 = f(u * lr);
            out[i] = apply ? f(p[i] + u1) : u1;
          }
        }
        break;
      }
      case 'sgd': {
        const [md, lr] = s;
        const momentum = (flags & FLAG.momentum) !== 0;
        for (let i = 0; i < n; i++) {
          const gi = f(g[i] * gs);
          let u = gi;
          if (momentum) {
            const t = f(gi + f(md * a[i]));
            qa[i] = t;
            u = nesterov ? f(gi + f(md * t)) : t;
          }
          {
            const u1 = f(u * lr);
            out[i] = apply ? f(p[i] + u1) : u1;
          }
        }
        break;
      }
      case 'rms': {
        const [d, cd, bc, eps, md, lr] = s;
        const centered = (flags & FLAG.centered) !== 0;
        const debias = (flags & FLAG.biasCorrection) !== 0;
        const inSqrt = (flags & FLAG.epsInSqrt) !== 0;
        const momentum = (flags & FLAG.momentum) !== 0;
        for (let i = 0; i < n; i++) {
          const gi = f(g[i] * gs);
          const v = f(f(cd * f(gi * gi)) + f(d * a[i]));
          qa[i] = v;
          let sq = debias ? f(v / bc) : v;
          if (centered) {
            const m = f(f(cd * gi) + f(d * b[i]));
            qb[i] = m;
            const mh = debias ? f(m / bc) : m;
            sq = f(sq - f(mh * mh));
          }
          // tf.rsqrt on cpu rounds 1 / sqrt(x) once; the wasm kernel rounds the root first.
          const scaling = inSqrt ? f(1 / Math.sqrt(f(sq + eps))) : f(1 / f(f(Math.sqrt(sq)) + eps));
          let u = f(f(scaling * gi) * lr);
          if (momentum) {
            const t = f(u + f(md * c[i]));
            qc[i] = t;
            u = nesterov ? f(u + f(md * t)) : t;
          }
          {
            const u1 = u;
            out[i] = apply ? f(p[i] + u1) : u1;
          }
        }
        break;
      }
      case 'rss': {
        const [eps, lr] = s;
        for (let i = 0; i < n; i++) {
          const gi = f(g[i] * gs);
          const acc = f(f(gi * gi) + a[i]);
          qa[i] = acc;
          const inv = acc > 0 ? f(1 / Math.sqrt(f(acc + eps))) : 0;
          {
            const u1 = f(f(inv * gi) * lr);
            out[i] = apply ? f(p[i] + u1) : u1;
          }
        }
        break;
      }
    }
  }
}
