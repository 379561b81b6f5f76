// Runs the numerical test files again on the other paths, so every test passes on each:
// the cpu backend (with its fused loops) and the composite tf-op path on wasm. The first,
// full run (`vitest run`) covers wasm with the fused SIMD kernels.
import { spawnSync } from 'node:child_process';

const files = ['test/optimizers.test.ts', 'test/transforms.test.ts', 'test/errors.test.ts', 'test/tftrain.test.ts',
  'test/variables.test.ts', 'test/quartic.test.ts', 'test/tree.test.ts', 'test/schedules.test.ts',
  'test/tf-optimizer.test.ts', 'test/resume.test.ts', 'test/checkpoint.test.ts', 'test/hyperparams.test.ts',
  'test/apply-if-finite.test.ts', 'test/multi-steps.test.ts', 'test/named-chain.test.ts', 'test/flatten.test.ts',
  'test/lookahead.test.ts', 'test/ema.test.ts', 'test/apply-every.test.ts', 'test/reduce-on-plateau.test.ts',
  'test/schedule-free.test.ts', 'test/zero-size.test.ts',
  'test/masked.test.ts', 'test/partition.test.ts', 'test/zoo-belief-yogi-sign-noise.test.ts', 'test/lbfgs.test.ts', 'test/zoo-layerwise.test.ts',
  'test/zoo-adabound-asgd-adopt-ademamix.test.ts', 'test/zoo-muon.test.ts', 'test/zoo-prodigy.test.ts',
  'test/zoo-rprop-adan-optimistic-adafactor-sm3-polyak.test.ts',
  'test/combine/average-params.test.ts', 'test/interop/averaged-weights.test.ts',
  'test/interop/param-groups.test.ts',
  // What trainStep may overwrite differs per backend (cpu shares arrays without counting them).
  'test/properties/purity.test.ts', 'test/combine/telemetry.test.ts', 'test/interop/fit-callback.test.ts', 'test/interop/accumulation.test.ts'];
const runs = [
  { TFJS_BACKEND: 'cpu' },
  { TFJS_BACKEND: 'wasm', TFJS_KERNELS: 'composite' },
];
for (const env of runs) {
  console.log(`\n== ${Object.entries(env).map(([k, v]) => `${k}=${v}`).join(' ')}`);
  const r = spawnSync(process.execPath, ['node_modules/vitest/vitest.mjs', 'run', ...files], {
    stdio: 'inherit',
    env: { ...process.env, ...env },
  });
  if (r.status !== 0) process.exit(r.status ?? 1);
}
