// Float64, per-element reference implementations of the optimizers, written from the
// published update rules (and the conventions documented in src/) rather than from the
// tensor code. Each returns a stepper: call it with the gradient and parameter values of one
// step, get the update (the delta to add) back.

export type Stepper = (g: number[], p: number[]) => number[];

export function sgdRef(lr: number, momentum?: number, nesterov = false): Stepper {
  let t: number[] | null = null;
  return (g) => {
    if (momentum === undefined) return g.map((x) => -lr * x);
    t = g.map((x, i) => x + momentum * (t ? t[i] : 0));
    return g.map((x, i) => -lr * (nesterov ? x + momentum * t![i] : t![i]));
  };
}

export function adagradRef(lr: number, init = 0.1, eps = 1e-7): Stepper {
  let s: number[] | null = null;
  return (g) => {
    s = g.map((x, i) => (s ? s[i] : init) + x * x);
    return g.map((x, i) => (s![i] > 0 ? (-lr * x) / Math.sqrt(s![i] + eps) : 0));
  };
}

export function rmspropRef(
  lr: number,
  { decay = 0.9, eps = 1e-8, centered = false, momentum = undefined as number | undefined, nesterov = false, epsInSqrt = true } = {},
): Stepper {
  let nu: number[] | null = null;
  let mu: number[] | null = null;
  let mom: number[] | null = null;
  return (g) => {
    nu = g.map((x, i) => (1 - decay) * x * x + decay * (nu ? nu[i] : 0));
    mu = g.map((x, i) => (1 - decay) * x + decay * (mu ? mu[i] : 0));
    const step = g.map((x, i) => {
      const s = nu![i] - (centered ? mu![i] ** 2 : 0);
      return (-lr * x) / (epsInSqrt ? Math.sqrt(s + eps) : Math.sqrt(s) + eps);
    });
    if (momentum === undefined) return step;
    mom = step.map((x, i) => x + momentum * (mom ? mom[i] : 0));
    return step.map((x, i) => (nesterov ? x + momentum * mom![i] : mom![i]));
  };
}

export function adamRef(
  lr: number,
  { b1 = 0.9, b2 = 0.999, eps = 1e-8, nesterov = false, weightDecay = 0, decayMask = undefined as boolean[] | undefined } = {},
): Stepper {
  let m: number[] | null = null;
  let v: number[] | null = null;
  let t = 0;
  return (g, p) => {
    t += 1;
    m = g.map((x, i) => (1 - b1) * x + b1 * (m ? m[i] : 0));
    v = g.map((x, i) => (1 - b2) * x * x + b2 * (v ? v[i] : 0));
    return g.map((x, i) => {
      const mHat = nesterov ? (b1 * m![i]) / (1 - b1 ** (t + 1)) + ((1 - b1) * x) / (1 - b1 ** t) : m![i] / (1 - b1 ** t);
      const vHat = v![i] / (1 - b2 ** t);
      const decay = weightDecay !== 0 && (decayMask === undefined || decayMask[i]) ? weightDecay * p[i] : 0;
      return -lr * (mHat / (Math.sqrt(vHat) + eps) + decay);
    });
  };
}

export function adamaxRef(lr: number, { b1 = 0.9, b2 = 0.999, eps = 1e-8 } = {}): Stepper {
  let m: number[] | null = null;
  let u: number[] | null = null;
  let t = 0;
  return (g) => {
    t += 1;
    m = g.map((x, i) => (1 - b1) * x + b1 * (m ? m[i] : 0));
    u = g.map((x, i) => Math.max(Math.abs(x) + eps, b2 * (u ? u[i] : 0)));
    return g.map((_, i) => (-lr * (m![i] / (1 - b1 ** t))) / u![i]);
  };
}

export function amsgradRef(
  lr: number,
  { b1 = 0.9, b2 = 0.999, eps = 1e-8, biasCorrectionMu = true, biasCorrectionNu = true } = {},
): Stepper {
  let m: number[] | null = null;
  let v: number[] | null = null;
  let vMax: number[] | null = null;
  let t = 0;
  return (g) => {
    t += 1;
    m = g.map((x, i) => (1 - b1) * x + b1 * (m ? m[i] : 0));
    v = g.map((x, i) => (1 - b2) * x * x + b2 * (v ? v[i] : 0));
    vMax = v.map((x, i) => Math.max(vMax ? vMax[i] : 0, biasCorrectionNu ? x / (1 - b2 ** t) : x));
    return g.map((_, i) => (-lr * (biasCorrectionMu ? m![i] / (1 - b1 ** t) : m![i])) / (Math.sqrt(vMax![i]) + eps));
  };
}

/** RAdam as written in Liu et al. 2020, Algorithm 2. */
export function radamRef(lr: number, { b1 = 0.9, b2 = 0.999, eps = 1e-8, threshold = 5 } = {}): Stepper {
  let m: number[] | null = null;
  let v: number[] | null = null;
  let t = 0;
  const rhoInf = 2 / (1 - b2) - 1;
  return (g) => {
    t += 1;
    m = g.map((x, i) => (1 - b1) * x + b1 * (m ? m[i] : 0));
    v = g.map((x, i) => (1 - b2) * x * x + b2 * (v ? v[i] : 0));
    const rho = rhoInf - (2 * t * b2 ** t) / (1 - b2 ** t);
    return g.map((_, i) => {
      const mHat = m![i] / (1 - b1 ** t);
      if (rho < threshold) return -lr * mHat;
      const r = Math.sqrt(((rho - 4) * (rho - 2) * rhoInf) / ((rhoInf - 4) * (rhoInf - 2) * rho));
      return (-lr * r * mHat) / (Math.sqrt(v![i] / (1 - b2 ** t)) + eps);
    });
  };
}

/** Adadelta as written in Zeiler 2012, Algorithm 1, with L2 weight decay on the gradient. */
export function adadeltaRef(lr: number, { rho = 0.9, eps = 1e-6, weightDecay = 0 } = {}): Stepper {
  let eG: number[] | null = null;
  let eX: number[] | null = null;
  return (g, p) => {
    const gd = g.map((x, i) => x + weightDecay * p[i]);
    eG = gd.map((x, i) => (1 - rho) * x * x + rho * (eG ? eG[i] : 0));
    const u = gd.map((x, i) => (Math.sqrt((eX ? eX[i] : 0) + eps) / Math.sqrt(eG![i] + eps)) * x);
    eX = u.map((x, i) => (1 - rho) * x * x + rho * (eX ? eX[i] : 0));
    return u.map((x) => -lr * x);
  };
}

/** Lion as written in Chen et al. 2023, Program 1 (decoupled weight decay, lr applied to both). */
export function lionRef(lr: number, { b1 = 0.9, b2 = 0.99, weightDecay = 1e-3 } = {}): Stepper {
  let m: number[] | null = null;
  return (g, p) => {
    const u = g.map((x, i) => Math.sign((1 - b1) * x + b1 * (m ? m[i] : 0)));
    m = g.map((x, i) => (1 - b2) * x + b2 * (m ? m[i] : 0));
    return u.map((x, i) => -lr * (x + weightDecay * p[i]));
  };
}

// Per-leaf ("per-block") pieces of the layer-wise references, on the test tree of helpers.ts:
// flatten order layer.bias (3 elements), layer.kernel (2x3), scale (scalar), one block each.

/** The leaves of the test tree as [start, end) ranges of the flat arrays. */
export const LEAVES: Array<[number, number]> = [
  [0, 3],
  [3, 9],
  [9, 10],
];

export const norm = (x: number[]) => Math.sqrt(x.reduce((s, v) => s + v * v, 0));

/** Applies `fn` to each leaf's slices of the flat arrays and concatenates the results. */
export function perLeaf(fn: (leaf: number, ...slices: number[][]) => number[], ...arrays: number[][]): number[] {
  return LEAVES.flatMap(([a, b], j) => fn(j, ...arrays.map((x) => x.slice(a, b))));
}

/** The trust-ratio scaling of one leaf: `u * tc * pn / (un + eps)` with floored norms, 1 where a norm is 0. */
export function trustRatio(u: number[], p: number[], { minNorm = 0, tc = 1, eps = 0 } = {}): number[] {
  const floor = (n: number) => (n <= minNorm ? minNorm : n);
  const pn = floor(norm(p));
  const un = floor(norm(u));
  const ratio = pn === 0 || un === 0 ? 1 : (tc * pn) / (un + eps);
  return u.map((x) => x * ratio);
}
