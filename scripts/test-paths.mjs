// Runs the numerical test files again on the other paths, so every test passes on each:
// the cpu backend (with its fused loops) and the composite tf-op path on wasm. The first,
// full run (`vitest run`) covers wasm with the fused SIMD kernels.
import { spawnSync } from 'node:child_process';

// Folders stand for every test file in them (vitest matches the arguments against file paths).
const files = ['test/optimizers', 'test/transforms', 'test/combine', 'test/tree', 'test/schedules', 'test/internal',
  'test/update.test.ts', 'test/errors.test.ts', 'test/zero-size.test.ts',
  'test/interop/variables.test.ts', 'test/interop/tf-optimizer.test.ts', 'test/interop/resume.test.ts', 'test/interop/checkpoint.test.ts',
  'test/interop/averaged-weights.test.ts', 'test/interop/param-groups.test.ts', 'test/interop/fit-callback.test.ts',
  'test/interop/accumulation.test.ts',
  // What trainStep may overwrite differs per backend (cpu shares arrays without counting them).
  'test/properties/purity.test.ts'];
// The composite run leaves out the convergence tests (every test whose name says "converge"):
// they take thousands of steps, which as tf ops are most of that run's time, and they add nothing
// there: the fused kernels are tested equal to the composite path bit for bit
// (test/properties/fused-composite.test.ts, the optimizers' own tests), and the wasm and cpu runs
// converge through the kernels.
const runs = [
  { env: { TFJS_BACKEND: 'cpu' }, args: [] },
  { env: { TFJS_BACKEND: 'wasm', TFJS_KERNELS: 'composite' }, args: ['--testNamePattern', '^(?!.*converge)'] },
];
for (const { env, args } of runs) {
  console.log(`\n== ${Object.entries(env).map(([k, v]) => `${k}=${v}`).join(' ')} ${args.join(' ')}`);
  const r = spawnSync(process.execPath, ['node_modules/vitest/vitest.mjs', 'run', ...args, ...files], {
    stdio: 'inherit',
    env: { ...process.env, ...env },
  });
  if (r.status !== 0) process.exit(r.status ?? 1);
}
