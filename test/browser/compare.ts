// Comparing what a backend in Chromium computed with what Node computed: bit for bit by
// default, or within a float32 tolerance (in ulps, or relative) where one is given.
import type { Leaf } from './scenarios.js';

/** A float32 tolerance: a difference passes if it is within either bound given. None: bitwise. */
export interface Tolerance {
  /** Distance in float32 units in the last place (adjacent floats are 1 apart). */
  ulps?: number;
  /** `|got - expected| / max(|got|, |expected|)`. */
  relative?: number;
}

/**
 * The tolerance for every comparison with Node, from `TFJS_OPTAX_BROWSER_TOLERANCE`: unset or
 * `bitwise` (SwiftShader is exact float32, so results here must match bit for bit), `ulps:N`
 * or `relative:X` (for real GPUs, whose transcendentals and fused multiply-adds differ).
 */
export function toleranceFromEnv(value = process.env.TFJS_OPTAX_BROWSER_TOLERANCE): Tolerance {
  if (value === undefined || value === '' || value === 'bitwise') return {};
  const m = /^(ulps|relative):(.+)$/.exec(value);
  const n = m ? Number(m[2]) : NaN;
  if (!m || !Number.isFinite(n) || n < 0) {
    throw new Error(`TFJS_OPTAX_BROWSER_TOLERANCE: expected 'bitwise', 'ulps:N' or 'relative:X', got '${value}'`);
  }
  return m[1] === 'ulps' ? { ulps: n } : { relative: n };
}

/** The wider of two tolerances, bound by bound. */
export function widest(a: Tolerance, b: Tolerance): Tolerance {
  const pick = (x?: number, y?: number) => (x === undefined ? y : y === undefined ? x : Math.max(x, y));
  return { ulps: pick(a.ulps, b.ulps), relative: pick(a.relative, b.relative) };
}

export function describeTolerance(t: Tolerance): string {
  const parts = [t.ulps !== undefined ? `${t.ulps} ulps` : '', t.relative !== undefined ? `relative ${t.relative}` : ''].filter(Boolean);
  return parts.length === 0 ? 'bitwise' : parts.join(' or ');
}

const bitsView = new Uint32Array(1);
const floatView = new Float32Array(bitsView.buffer);

/** The float32 a bit pattern stands for. */
export function fromBits(bits: number): number {
  bitsView[0] = bits;
  return floatView[0];
}

/** Bit patterns mapped to integers that order like the floats (-0 and +0 are 1 apart). */
function ordered(bits: number): number {
  return bits >= 0x80000000 ? 0x80000000 - (bits - 0x80000000) - 1 : bits + 0x80000000;
}

/** One element that differs. */
export interface Diff {
  where: string;
  expected: number;
  got: number;
  /**
   * Float32 ulps apart: Infinity for integers and for JS numbers that are not float32 values
   * (step counts, float64 sums), which pass only a relative tolerance.
   */
  ulps: number;
  relative: number;
}

const toBits = (x: number): number => {
  floatView[0] = x;
  return bitsView[0];
};

function diffOf(where: string, kind: Leaf['kind'], e: number, g: number): Diff | null {
  if (kind === 'num' && !Object.is(e, g) && Math.fround(e) === e && Math.fround(g) === g) {
    // A JS number read back from a float32 tensor (a loss, a norm): compare it as float32.
    return diffOf(where, 'f32', toBits(e), toBits(g));
  }
  if (kind !== 'f32') {
    if (Object.is(e, g) || (Number.isNaN(e) && Number.isNaN(g))) return null;
    const relative = Math.abs(e - g) / Math.max(Math.abs(e), Math.abs(g));
    return { where, expected: e, got: g, ulps: Infinity, relative: kind === 'num' && Number.isFinite(relative) ? relative : Infinity };
  }
  if (e === g) return null;
  const ef = fromBits(e);
  const gf = fromBits(g);
  if (Number.isNaN(ef) && Number.isNaN(gf)) return null; // NaN payloads may differ between backends
  const ulps = Number.isNaN(ef) || Number.isNaN(gf) ? Infinity : Math.abs(ordered(e) - ordered(g));
  const scale = Math.max(Math.abs(ef), Math.abs(gf));
  const relative = Number.isNaN(ef) || Number.isNaN(gf) || !Number.isFinite(scale) ? Infinity : Math.abs(ef - gf) / scale;
  return { where, expected: ef, got: gf, ulps, relative };
}

/**
 * The elements of `got` that differ from `expected` (both from {@link leavesOf}), each named by
 * `label`, the leaf's path and the element's index. A structural difference (other leaves,
 * shapes or kinds) is thrown as an error naming the first one.
 */
export function diffLeaves(expected: Leaf[], got: Leaf[], label: string): Diff[] {
  const paths = (ls: Leaf[]) => ls.map((l) => `${l.path}:${l.kind}[${l.data.length}]`);
  const pe = paths(expected);
  const pg = paths(got);
  const first = pe.findIndex((p, i) => p !== pg[i]);
  if (pe.length !== pg.length || first >= 0) {
    const at = first >= 0 ? first : Math.min(pe.length, pg.length);
    throw new Error(`${label}: different leaves at #${at}: expected ${pe[at] ?? 'nothing'}, got ${pg[at] ?? 'nothing'}`);
  }
  const diffs: Diff[] = [];
  expected.forEach((leaf, i) => {
    leaf.data.forEach((e, j) => {
      const d = diffOf(`${label} ${leaf.path}[${j}]`, leaf.kind, e, got[i].data[j]);
      if (d) diffs.push(d);
    });
  });
  return diffs;
}

export function within(d: Diff, t: Tolerance): boolean {
  return (t.ulps !== undefined && d.ulps <= t.ulps) || (t.relative !== undefined && d.relative <= t.relative);
}

/**
 * The largest distance in ulps among the float32 differences, the largest relative difference
 * among all, and how many differ (0, 0, 0 when none do). A difference with no ulps distance (an
 * integer, a float64 number) makes `float32Only` false: only a relative bound can pass it.
 */
export function worst(diffs: Diff[]): { ulps: number; relative: number; count: number; float32Only: boolean } {
  return {
    ulps: diffs.reduce((m, d) => (Number.isFinite(d.ulps) ? Math.max(m, d.ulps) : m), 0),
    relative: diffs.reduce((m, d) => Math.max(m, d.relative), 0),
    count: diffs.length,
    float32Only: diffs.every((d) => Number.isFinite(d.ulps)),
  };
}

/** A readable list of the first differences. */
export function formatDiffs(diffs: Diff[], limit = 8): string {
  const lines = diffs.slice(0, limit).map(
    (d) => `  ${d.where}: expected ${d.expected}, got ${d.got} (${d.ulps === Infinity ? 'not float32' : `${d.ulps} ulps`}, relative ${d.relative.toExponential(2)})`,
  );
  if (diffs.length > limit) lines.push(`  ... and ${diffs.length - limit} more`);
  return lines.join('\n');
}
