import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

// The examples run in CI so they never rot: each is run as a user would (tsx, wasm backend)
// and its output checked. The README's quick-start code must be examples/quickstart.ts, and the
// getting-started guide must quote examples/layers-quickstart.ts; test/guides.test.ts checks
// that every other code block of the README and the guides is an excerpt of an example.

const ROOT = resolve(__dirname, '..');

/** Runs an example with tsx, from the repo root or, for examples that write files, another folder. */
function runExample(file: string, cwd = ROOT, env: Record<string, string> = {}): string {
  const tsx = join(ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs');
  const args = [tsx, '--tsconfig', join(ROOT, 'tsconfig.json'), join(ROOT, 'examples', file)];
  return execFileSync(process.execPath, args, { cwd, encoding: 'utf8', timeout: 170_000, env: { ...process.env, ...env } });
}

describe('examples', () => {
  it('quickstart fits y = 2x - 1, and the README quotes it verbatim', () => {
    expect(runExample('quickstart.ts').trim()).toBe('w = 2.000, b = -1.000');
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const code = readFileSync(join(ROOT, 'examples', 'quickstart.ts'), 'utf8').trim();
    expect(readme).toContain(code);
  });

  it('layers-quickstart trains, saves with its optimizer, loads and resumes; the getting-started guide quotes it verbatim', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tfjs-optax-example-'));
    try {
      const out = runExample('layers-quickstart.ts', dir).trim();
      const [, steps, loss] = out.match(/^step (\d+), loss ([\d.]+)$/)!;
      expect(Number(steps)).toBe(2 * 20 * 8);
      expect(Number(loss)).toBeLessThan(0.05);
      expect(readdirSync(join(dir, 'checkpoint')).filter((f) => f.endsWith('.weights.bin'))).toHaveLength(1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const guide = readFileSync(join(ROOT, 'docs', 'guides', 'getting-started.md'), 'utf8');
    expect(guide).toContain(readFileSync(join(ROOT, 'examples', 'layers-quickstart.ts'), 'utf8').trim());
  });

  it('training-loop: the step by hand, trainStep inside tf.tidy, the learning rate under toTfOptimizer, weight decay and kernels; its own checks pass', () => {
    const out = runExample('training-loop.ts'); // the program throws, and so fails here, if a check fails
    expect(out.match(/^ok: /gm)).toHaveLength(8);
  });

  it('local-minimum: descent stays in its basin, momentum escapes', () => {
    const out = runExample('local-minimum.ts');
    expect(out).toMatch(/from {2}5: 3\.27\d \(global minimum\)/);
    expect(out).toMatch(/from -5: -3\.25\d \(stuck in the local minimum\)/);
    expect(out).toMatch(/from -5 with momentum: 3\.2\d\d \(escaped to the global minimum\)/);
  });

  it('schedules prints 100 values for each of the fifteen schedules', () => {
    const out = runExample('schedules.ts');
    expect(out.match(/^ {2}90: /gm)).toHaveLength(15);
    expect(out).toContain('warmupCosineDecay 10 warmup, 100 total');
  });

  it('fit: model.fit with toTfOptimizer next to tf.train.adam, early stopping, save/load/resume exactly, nothing left', () => {
    const out = runExample('fit.ts');
    const summary = out.split('\n').filter((l) => /epochs in .* best val_loss/.test(l));
    expect(summary).toHaveLength(2);
    for (const line of summary) {
      const [, epochs, valLoss, acc] = line.match(/: (\d+) epochs in .* best val_loss ([\d.]+) \(val acc ([\d.]+)%\)/)!;
      expect(Number(epochs)).toBeGreaterThanOrEqual(5);
      expect(Number(epochs)).toBeLessThanOrEqual(40);
      expect(Number(valLoss)).toBeLessThan(0.45);
      expect(Number(acc)).toBeGreaterThan(82);
    }
    expect(out).toMatch(/^\| +1 \| +\d\.\d{4} \| +\d\.\d{4} \| +\d+\.\d% \| +\d\.\d{4} \|/m);
    expect(out).toContain('loaded, resumed and trained 2 more epochs: identical to the original, bit for bit');
    expect(out).toContain('0 tensors alive after disposing everything');
    // fitCallback's values in history: the warmup's first epoch at half the peak, then the peak.
    expect(out).toMatch(/learningRate 1\.50e-3 after epoch 1, 3\.00e-3 at its peak \(epoch 2\), \d\.\d\de-3 at the end; gradNorm \(before the clip\) \d+\.\d{3} after epoch 1/);
  });

  it('custom-loop: trainStep on a layers model fits the curve, leak-free, and resumes from a checkpoint exactly', () => {
    const out = runExample('custom-loop.ts');
    const final = Number(out.match(/step {2}600: loss ([\d.]+)/)![1]);
    expect(final).toBeLessThan(0.005);
    expect(out).toMatch(/tensors: (\d+) before the loop, \1 after 600 steps/);
    expect(out).toContain('resumed from the step-300 checkpoint and ran to 600: the same weights, bit for bit');
  });

  it('custom-transform: a hand-written transformation behind clipByGlobalNorm trains, its rate only falls, and its own checks pass', () => {
    const out = runExample('custom-transform.ts'); // the program throws, and so fails here, if a check fails
    expect(out.match(/^RangeError: gradDecayedLearningRate: option '(learningRate|c)' must be a finite number >= 0, got (-1|NaN)$/gm)).toHaveLength(2);
    const rows = [...out.matchAll(/^step +(\d+): loss ([\d.]+), \|g\| \S+, next learning rate ([\d.]+)$/gm)];
    expect(rows.map((r) => Number(r[1]))).toEqual([1, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100]);
    const rates = rows.map((r) => Number(r[3]));
    expect(rates.every((r, i) => i === 0 || r <= rates[i - 1])).toBe(true);
    expect(rates[0]).toBeCloseTo(1 / 1.05, 5);
    expect(Number(rows.at(-1)![2])).toBeLessThan(0.006);
    expect(out.match(/^ok: /gm)).toHaveLength(4);
  });

  it('learning-rate: hyperparameters read and set mid-run, injected, and the wrappers people train with; its own checks pass', () => {
    const out = runExample('learning-rate.ts'); // the program throws, and so fails here, if a check fails
    expect(out.match(/^step +\d+: learningRate [\d.]+$/gm)).toHaveLength(3);
    expect(out.match(/^ok: /gm)).toHaveLength(9);
    expect(out).toContain('ok: after k updates the state holds schedule(k), on the fused path too');
  });

  it('weight-averaging: SWA and EMA weights evaluate better than the last weights of SGD at a fixed rate; its own checks pass', () => {
    const out = runExample('weight-averaging.ts'); // the program throws, and so fails here, if a check fails
    const loss = (label: string) => Number(out.match(new RegExp(`^  ${label} +([\\d.]+)$`, 'm'))![1]);
    const [last, swa, ema] = [loss('last weights'), loss('SWA, the last 15 epochs'), loss('EMA, decay 0.99')];
    expect(last).toBeGreaterThan(1);
    for (const averaged of [swa, ema]) {
      expect(averaged).toBeGreaterThan(1); // the noise floor
      expect(averaged - 1).toBeLessThan((last - 1) / 2); // at most half the last weights' excess loss
    }
    expect(out.match(/^ok: /gm)).toHaveLength(3);
  });

  it('param-groups: paramInfo of a layers model, and decayMask, layerwiseDecay and muonLabels each train it with model.fit, leak-free', () => {
    const out = runExample('param-groups.ts');
    expect(out).toMatch(/^embedding_Embedding1\/embeddings +Embedding +embeddings depth 0 {2}\[12, 16\]$/m);
    expect(out).toMatch(/^dense_Dense3\/kernel +Dense +kernel +depth 4 {2}\[16, 3\]$/m);
    const runs = [...out.matchAll(/^(.+): loss ([\d.]+) -> ([\d.]+) in 30 steps$/gm)];
    expect(runs.map((r) => r[1])).toEqual(['adamw + decayMask', 'layerwiseDecay', 'muon + muonLabels']);
    for (const [, name, first, last] of runs) expect(Number(last), name).toBeLessThan(0.8 * Number(first));
    expect(out).toContain('0 tensors alive');
  });

  it('zoo: every optimizer on Rosenbrock, an ill-conditioned quadratic and Ackley, a table each, leak-free', () => {
    // 400 steps, not the example's 2000: the tables' form and the leak check are what is tested.
    const out = runExample('zoo.ts', ROOT, { ZOO_MAX_STEPS: '400' });
    const tables = out.split('\n\n').filter((b) => b.includes('| optimizer |'));
    expect(tables).toHaveLength(3);
    for (const t of tables) {
      const rows = t.split('\n').filter((l) => /^\| [a-z]/.test(l) && !l.startsWith('| optimizer'));
      expect(rows.length).toBeGreaterThanOrEqual(13);
      // Most optimizers reach the quadratic's minimum; every row has a number of steps or "> max".
      for (const r of rows) expect(r).toMatch(/\| (\d+|> \d+) \| \S+ \|$/);
    }
    expect(out).toContain('0 tensors leaked over all runs.');
  }, 180_000); // about 50 optimizers x 3 functions x up to 400 steps: about 20 s alone

  it('mlp trains all eight optimizers to a useful test accuracy, leak-free, within a minute', () => {
    const t0 = Date.now();
    const out = runExample('mlp.ts');
    expect(Date.now() - t0).toBeLessThan(60_000);
    const rows = out.split('\n').filter((l) => /^\| [a-z]/.test(l) && !l.startsWith('| optimizer'));
    expect(rows).toHaveLength(8);
    for (const row of rows) {
      const [, name, loss, acc] = row.split('|').map((c) => c.trim());
      expect(Number(loss), name).toBeLessThan(0.5);
      expect(parseFloat(acc), name).toBeGreaterThan(75);
    }
    expect(out).toMatch(/4 tensors alive \(the 4 dataset tensors\)/);
  });
});
