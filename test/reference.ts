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
